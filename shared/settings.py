"""Configuration from FUPIN_* environment variables; defaults give the embedded runtime."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICES = ("registry", "monitoring", "funds", "tasks")
DEV_JWT_SECRET = "fupin-development-secret-change-me-before-production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FUPIN_", env_file=".env", extra="ignore")

    env: Literal["dev", "test", "production"] = "dev"
    data_dir: Path = Path(".fupin-data")
    bus: Literal["embedded", "kafka"] = "embedded"
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_partitions: int = 3
    topic_prefix: str = Field(default="", description="prepended to every topic and group name")

    registry_database_url: str | None = None
    monitoring_database_url: str | None = None
    funds_database_url: str | None = None
    tasks_database_url: str | None = None

    jwt_secret: str = DEV_JWT_SECRET
    jwt_public_key: str | None = Field(default=None, description="PEM; enables RS256 tokens")
    pii_key: str | None = Field(default=None, description="base64 of 32 bytes, AES-256-GCM")
    pii_old_keys: str = Field(default="", description="comma-separated base64 keys still readable")
    blind_index_key: str | None = Field(default=None, description="base64 of 32 bytes, HMAC")

    log_level: str = "INFO"
    max_body_bytes: int = 1_048_576
    max_upload_bytes: int = 512 * 1_048_576
    consumer_max_attempts: int = 5
    relay_batch_size: int = 500
    relay_idle_seconds: float = 0.2

    def database_url(self, service: str) -> str:
        explicit = getattr(self, f"{service}_database_url")
        if explicit:
            return explicit
        return f"sqlite+aiosqlite:///{(self.data_dir / f'{service}.db').as_posix()}"

    @property
    def embedded_bus_path(self) -> Path:
        return self.data_dir / "events.db"

    def production_problems(self) -> list[str]:
        """What forbids starting in production mode (default secrets, missing keys)."""
        problems = []
        if self.env != "production":
            return problems
        if not self.jwt_public_key and (
                self.jwt_secret == DEV_JWT_SECRET or self.jwt_secret.startswith("CHANGE-ME")
                or len(self.jwt_secret.encode()) < 32):
            problems.append("FUPIN_JWT_SECRET is the development default, a placeholder or "
                            "shorter than 32 bytes")
        if not self.pii_key or self.pii_key.startswith("CHANGE-ME"):
            problems.append("FUPIN_PII_KEY is not set")
        if not self.blind_index_key or self.blind_index_key.startswith("CHANGE-ME"):
            problems.append("FUPIN_BLIND_INDEX_KEY is not set")
        return problems


@lru_cache
def get_settings() -> Settings:
    return Settings()
