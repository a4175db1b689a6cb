"""Settings of the funds service alone (FUPIN_FUNDS_* environment variables)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class FundsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FUPIN_FUNDS_", env_file=".env", extra="ignore")

    alert_interval_seconds: float = 3600.0
    """How often the background job recomputes alerts from the ledger."""
