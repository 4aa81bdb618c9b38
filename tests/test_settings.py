"""Settings: defaults, LIFEVALUE_ variables parsed by pydantic-settings, clear errors."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from lifevalue.errors import ConfigError
from lifevalue.settings import Settings, get_settings


def _clear(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("LIFEVALUE_"):
            monkeypatch.delenv(name)


def test_defaults_without_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    _clear(monkeypatch)
    assert get_settings() == Settings()
    assert get_settings().store_timezone == "UTC"
    assert get_settings().active_days == 365


def test_variables_are_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    _clear(monkeypatch)
    monkeypatch.setenv("LIFEVALUE_STORE_TIMEZONE", "Europe/London")
    monkeypatch.setenv("LIFEVALUE_ACTIVE_DAYS", "90")
    monkeypatch.setenv("LIFEVALUE_DUCKDB_THREADS", "1")
    s = get_settings()
    assert s.store_timezone == "Europe/London"
    assert s.active_days == 90
    assert s.duckdb_threads == 1
    assert s.time_unit == "days"


def test_a_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    _clear(monkeypatch)
    monkeypatch.setenv("LIFEVALUE_DUCKDB_THREADS", "many")
    with pytest.raises(ConfigError, match="LIFEVALUE_DUCKDB_THREADS='many'"):
        get_settings()
    monkeypatch.setenv("LIFEVALUE_DUCKDB_THREADS", "2")
    monkeypatch.setenv("LIFEVALUE_TIME_UNIT", "months")
    with pytest.raises(ConfigError, match="LIFEVALUE_TIME_UNIT"):
        get_settings()


def test_pydantic_is_not_imported_without_variables() -> None:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("LIFEVALUE_")}
    code = (
        "import sys; from lifevalue.settings import get_settings; get_settings(); "
        "print('pydantic' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("threads", [None, 1])
def test_duckdb_threads_after_reading(
    monkeypatch: pytest.MonkeyPatch, tmp_path: os.PathLike[str], threads: int | None
) -> None:
    # reading totals the orders with one thread more than cores, then DuckDB's default is back;
    # a LIFEVALUE_DUCKDB_THREADS the user set holds throughout
    from pathlib import Path

    from lifevalue.io import read_orders

    _clear(monkeypatch)
    if threads is not None:
        monkeypatch.setenv("LIFEVALUE_DUCKDB_THREADS", str(threads))
    log = Path(tmp_path) / "orders.csv"
    log.write_text("customer_id,ordered_at,amount\nA,2024-01-01,10\nA,2024-02-01,5\n")
    con = read_orders([log]).con
    got = con.execute("SELECT current_setting('threads')").fetchall()[0][0]
    assert got == (threads or len(os.sched_getaffinity(0)))
