"""Configuration: one settings object, every field overridable as LIFEVALUE_<NAME>.

The environment is parsed and validated by pydantic-settings. Importing pydantic costs about a
third of a second, which is a tenth of a whole ``lifevalue analyze`` of a million customers, so
it is imported only when some ``LIFEVALUE_`` variable is set; otherwise the defaults are used as
they are.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, get_type_hints

if TYPE_CHECKING:
    from pydantic_settings import BaseSettings

ENV_PREFIX = "LIFEVALUE_"


@dataclass(frozen=True)
class Settings:
    """Defaults that work on one machine; change any of them with an environment variable.

    Example: ``LIFEVALUE_STORE_TIMEZONE=Europe/London lifevalue analyze orders.csv``.
    """

    store_timezone: str = "UTC"
    """Time zone of timestamps that carry none; purchase periods are calendar days in it."""
    time_unit: Literal["days", "weeks"] = "days"
    """Unit of recency, T and model horizons."""
    active_days: int = 365
    """A customer counts as active at a date if they bought within this many previous days."""
    duckdb_threads: int | None = None
    """Threads for DuckDB; None lets DuckDB decide (all cores)."""
    duckdb_memory_limit: str | None = None
    """Memory limit for DuckDB, e.g. '4GB'; None keeps DuckDB's default (80% of RAM)."""


@cache
def _env_model() -> type[BaseSettings]:
    """The pydantic-settings model of :class:`Settings` (same fields, types and defaults)."""
    from pydantic import create_model
    from pydantic_settings import BaseSettings, SettingsConfigDict

    hints = get_type_hints(Settings)
    spec: dict[str, Any] = {f.name: (hints[f.name], f.default) for f in fields(Settings)}

    class _Base(BaseSettings):
        model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    model: type[BaseSettings] = create_model("EnvSettings", __base__=_Base, **spec)
    return model


def get_settings() -> Settings:
    """Read the settings from the environment (a new object each call, so tests can patch env).

    Raises
    ------
    ConfigError
        A ``LIFEVALUE_`` variable holds a value of the wrong type (e.g. a word for a number).
    """
    if not any(name.upper().startswith(ENV_PREFIX) for name in os.environ):
        return Settings()
    from pydantic import ValidationError

    try:
        values = _env_model()().model_dump()
    except ValidationError as exc:
        from lifevalue.errors import ConfigError

        bad = "; ".join(
            f"{ENV_PREFIX}{str(e['loc'][0]).upper()}={e.get('input')!r}: {e['msg']}"
            for e in exc.errors()
        )
        raise ConfigError(f"invalid setting in the environment: {bad}") from None
    return Settings(**{k: values[k] for k in asdict(Settings())})
