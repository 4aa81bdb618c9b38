"""Configuration: one pydantic-settings object, every field overridable as LIFEVALUE_<NAME>."""

from __future__ import annotations

from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Defaults that work on one machine; change any of them with an environment variable.

    Example: ``LIFEVALUE_STORE_TIMEZONE=Europe/London lifevalue analyze orders.csv``.
    """

    model_config = SettingsConfigDict(env_prefix="LIFEVALUE_", extra="ignore")

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


def get_settings() -> Settings:
    """Read the settings from the environment (a new object each call, so tests can patch env)."""
    return Settings()
