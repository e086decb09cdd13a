"""Server settings from the environment (`PLACEMENT_…`, and `DATABASE_URL`); scoring weights are not here."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from matcher import ReadLimits

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
    area_queue_name: str = Field(
        default="placement-areas", description="the queue of the default strategy's areas (placement worker --areas)"
    )
    fan_out_areas: bool = Field(
        default=True, description="with the queue set and area workers listening, a solve's areas go to them"
    )
    area_width: int = Field(default=2, ge=2, le=64, description="independent areas sent to the area workers at once")
    plan_workers: int = Field(default=1, ge=1, le=16, description="processes of the local solve pool")
    import_workers: int = Field(
        default=1, ge=1, le=8, description="processes that run imports (imports beyond them wait their turn)"
    )
    db_concurrency: int = Field(
        default=8, ge=1, le=32, description="requests that hold a database session at once (fewer than threads)"
    )
    suggestion_concurrency: int = Field(
        default=2, ge=1, le=32, description="suggestion requests computed at once; the others queue in order"
    )
    max_plan_seconds: float = Field(default=600.0, gt=0, description="longest time limit a plan may ask for")
    association_id: str = "default"
    association_name: str = "Samordningsförbundet (demo)"
    sample_data: Path = Path("data/sample")
    demo_tokens_file: Path = Path("var") / "demo-tokens.txt"
    log_level: str = "INFO"
    host: str = "127.0.0.1"
    port: int = 8000
    # Limits (docs/service.md, "Limits"): what one request may make the server hold.
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1, description="largest request body but an upload's (413 above it), in bytes"
    )
    max_upload_bytes: int = Field(
        default=20 * 1024 * 1024, ge=1, description="largest upload (the whole multipart body of an import), in bytes"
    )
    max_import_rows: int = Field(default=100_000, ge=1, description="data rows of one table of an import")
    max_import_columns: int = Field(default=100, ge=1, description="columns of one header of an import")
    max_import_cell_chars: int = Field(default=10_000, ge=1, description="characters of one cell of an import")
    max_workbook_bytes: int = Field(
        default=100 * 1024 * 1024, ge=1, description="an uploaded .xlsx workbook once unzipped, in bytes"
    )
    idempotency_key_hours: float = Field(
        default=24.0, gt=0, description="how long an Idempotency-Key is remembered (a replay answers the first answer)"
    )

    def read_limits(self) -> ReadLimits:
        """The core reader's limits for an import."""
        return ReadLimits(
            max_file_bytes=self.max_upload_bytes,
            max_rows=self.max_import_rows,
            max_columns=self.max_import_columns,
            max_cell_chars=self.max_import_cell_chars,
            max_workbook_bytes=self.max_workbook_bytes,
        )


@lru_cache
def get_settings() -> ServiceSettings:
    return ServiceSettings()
