"""Server settings from the environment (`PLACEMENT_…`, and `DATABASE_URL`); scoring weights are not here."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DB_PATH = Path("var") / "placement.db"


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PLACEMENT_", extra="ignore", populate_by_name=True)

    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_DB_PATH}",
        validation_alias=AliasChoices("DATABASE_URL", "PLACEMENT_DATABASE_URL"),
        description="SQLAlchemy URL: sqlite:///path (embedded default) or postgresql+psycopg://…",
    )
    queue_url: str | None = Field(default=None, description="redis://… sends solves to an RQ queue; unset = local pool")
    queue_name: str = "placement-plans"
    plan_workers: int = Field(default=1, ge=1, le=16, description="processes of the local solve pool")
    db_concurrency: int = Field(
        default=8, ge=1, le=32, description="requests that hold a database session at once (fewer than threads)"
    )
    max_plan_seconds: float = Field(default=600.0, gt=0, description="longest time limit a plan may ask for")
    association_id: str = "default"
    association_name: str = "Samordningsförbundet (demo)"
    sample_data: Path = Path("data/sample")
    demo_tokens_file: Path = Path("var") / "demo-tokens.txt"
    log_level: str = "INFO"
    host: str = "127.0.0.1"
    port: int = 8000


@lru_cache
def get_settings() -> ServiceSettings:
    return ServiceSettings()
