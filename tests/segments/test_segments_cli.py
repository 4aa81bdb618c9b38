"""`lifevalue segments` and `lifevalue audience` end to end on a small hand-written order log."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

ORDERS = """customer_id,order_id,ordered_at,amount,discount,sku,email,phone,country
a,1,2024-01-05T10:00:00Z,20.00,,S1,  Ann@Example.COM ,020 7946 0958,GB
a,2,2024-03-05T10:00:00Z,30.00,5.00,S2,ann@example.com,020 7946 0958,GB
a,3,2024-06-01T10:00:00Z,25.00,,S1,ann@example.com,020 7946 0958,GB
b,4,2024-02-10T09:00:00Z,500.00,,S3,bob@example.org,,US
c,5,2024-06-20T12:00:00Z,15.00,,S1,,+1 650 253 0000,
d,6,2023-01-02T12:00:00Z,40.00,4.00,S2,dan@example.net,,GB
d,7,2023-02-02T12:00:00Z,45.00,4.50,S2,dan@example.net,,GB
e,8,2024-06-29T12:00:00Z,60.00,,S4,eve@example.com,,GB
"""


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def orders(write_file: Callable[..., Path]) -> Path:
    return write_file("orders.csv", ORDERS)


def test_segments_from_orders(cli: Callable[..., object], orders: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = cli("segments", orders, "--out", out)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    customers = pd.read_parquet(out / "customers.parquet").set_index("customer_id")
    assert list(customers.index) == ["a", "b", "c", "d", "e"]
    assert customers.loc["a", "email"] == "ann@example.com"  # latest order's value
    assert customers.loc["b", "segments"].split(";")[0] == "first_time"
    assert "repeat" in customers.loc["a", "segments"].split(";")
    assert "lapsed" in customers.loc["d", "segments"].split(";")
    assert customers["rfm_group"].notna().all()
    assert pd.read_csv(out / "customers.csv").shape[0] == 5
    summary = pd.read_csv(out / "segments.csv")
    assert set(summary["kind"]) == {"behaviour", "rfm"}
    assert "rfm:champions" in result.stdout  # type: ignore[attr-defined]
    assert "cart_abandoner: skipped" in result.stderr  # type: ignore[attr-defined]


def test_segments_from_customer_file_with_rules_and_carts(
    cli: Callable[..., object], orders: Path, tmp_path: Path, write_file: Callable[..., Path]
) -> None:
    first = tmp_path / "first"
    assert cli("segments", orders, "--out", first).exit_code == 0  # type: ignore[attr-defined]
    rules = write_file(
        "my_rules.toml",
        '[segments.lapsed]\nenabled = false\n[segments.us]\nrule = "conditions"\n'
        "when = [\"country == 'US'\"]\n",
    )
    carts = write_file(
        "carts.csv", "customer_id,created_at,converted\na,2024-06-20T20:00:00Z,false\n"
    )
    second = tmp_path / "second"
    result = cli(
        "segments", first / "customers.parquet", "--out", second, "--rules", rules, "--carts", carts
    )
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    customers = pd.read_parquet(second / "customers.parquet").set_index("customer_id")
    assert customers.loc["b", "segments"].endswith(";us")
    assert customers.loc["a", "segments"].endswith(";cart_abandoner")  # user segments come last
    assert not customers["segments"].str.contains("lapsed").any()


def test_bad_rules_exit_2(
    cli: Callable[..., object], orders: Path, tmp_path: Path, write_file: Callable[..., Path]
) -> None:
    rules = write_file("bad.toml", "[segments.vip]\nshare = 7\n")
    result = cli("segments", orders, "--out", tmp_path / "o", "--rules", rules)
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert "segments.vip.share" in result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in result.output  # type: ignore[attr-defined]


def test_show_rules_and_help(cli: Callable[..., object]) -> None:
    result = cli("segments", "--show-rules")
    assert result.exit_code == 0  # type: ignore[attr-defined]
    assert "[segments.vip]" in result.stdout  # type: ignore[attr-defined]
    for command in ("segments", "audience"):
        text = cli(command, "--help").stdout  # type: ignore[attr-defined]
        assert "Examples" in text and f"lifevalue {command}" in text


def test_audience_hashed_google(cli: Callable[..., object], orders: Path, tmp_path: Path) -> None:
    out = tmp_path / "seg"
    assert cli("segments", orders, "--out", out).exit_code == 0  # type: ignore[attr-defined]
    target = tmp_path / "repeat.csv"
    result = cli("audience", out / "customers.parquet", "--segment", "repeat", "--out", target)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    rows = pd.read_csv(target, dtype=str, keep_default_na=False).to_dict("records")
    # repeat buyers: a (GB phone written nationally) and d (no phone)
    assert rows == [
        {"Email": sha("ann@example.com"), "Phone": sha("+442079460958")},
        {"Email": sha("dan@example.net"), "Phone": ""},
    ]


def test_audience_from_orders_meta_plain(
    cli: Callable[..., object], orders: Path, tmp_path: Path
) -> None:
    target = tmp_path / "first.csv"
    result = cli(
        "audience",
        orders,
        "-s",
        "first_time",
        "--platform",
        "meta",
        "--format",
        "plain",
        "--out",
        target,
    )
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    rows = pd.read_csv(target, dtype=str, keep_default_na=False).to_dict("records")
    assert {"email": "", "phone": "16502530000"} in rows  # c: international number, no '+'
    assert {"email": "bob@example.org", "phone": ""} in rows


def test_audience_errors(cli: Callable[..., object], orders: Path, tmp_path: Path) -> None:
    bad = cli("audience", orders, "-s", "vip", "--platform", "tiktok", "--out", tmp_path / "x")
    assert bad.exit_code == 2 and "--platform" in bad.stderr  # type: ignore[attr-defined]
    none = cli("audience", orders, "-s", "nobody_here", "--out", tmp_path / "y.csv")
    assert none.exit_code == 2 and "no customer" in none.stderr  # type: ignore[attr-defined]


def test_audience_from_customer_csv_keeps_text_columns(
    cli: Callable[..., object], tmp_path: Path, write_file: Callable[..., Path]
) -> None:
    customers = write_file(
        "customers.csv",
        "customer_id,days_since_last_order,total_spend,orders,purchase_periods,phone,email\n"
        "007,3,10.0,1,1,02079460958,  A@B.co \n",
    )
    target = tmp_path / "a.csv"
    result = cli(
        "audience", customers, "-s", "first_time", "--region", "GB", "--format", "plain",
        "--out", target,
    )  # fmt: skip
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    # the phone's leading zero survives reading the CSV (read as text, not as a number)
    assert target.read_text().splitlines() == ["Email,Phone", "a@b.co,+442079460958"]


def test_bad_model_exit_2(cli: Callable[..., object], orders: Path, tmp_path: Path) -> None:
    result = cli("segments", orders, "--out", tmp_path / "o", "--model", "magic")
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert "--model" in result.stderr  # type: ignore[attr-defined]
