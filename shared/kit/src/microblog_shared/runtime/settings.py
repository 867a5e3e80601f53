"""Settings of every process, read from the environment (prefix `MICROBLOG_`)."""

from __future__ import annotations

import warnings
from typing import ClassVar, Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "dev-secret-change-me-0123456789abcdef"
DEFAULT_INTERNAL_SECRET = "dev-internal-secret-change-me-0123456789"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MICROBLOG_", extra="ignore")
    # Whether this process signs or verifies JWTs (the web UI only carries them, never checks them).
    uses_jwt_secret: ClassVar[bool] = True
    # Whether it signs or verifies the caller the gateway forwards (the web UI is only a client).
    uses_internal_secret: ClassVar[bool] = True

    environment: Literal["development", "test", "production"] = "development"
    service_name: str = "microblog"

    # This process's own database (one database per service).
    database_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

    bus: Literal["postgres", "kafka"] = "postgres"
    bus_database_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/bus"
    bus_partitions: int = Field(default=4, ge=1)
    # Prefix of every topic and consumer group: lets several platforms share one Kafka cluster.
    bus_namespace: str = Field(default="", pattern=r"^[A-Za-z0-9._-]*$")
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_replication_factor: int = Field(default=1, ge=1)
    kafka_min_insync_replicas: int = Field(default=1, ge=1)

    jwt_secret: str = DEFAULT_SECRET
    access_token_minutes: int = 60
    # Shared by the gateway and the services behind it: signs the X-User-Id the gateway forwards.
    internal_secret: str = DEFAULT_INTERNAL_SECRET
    # Prometheus metrics on this port of their own (0: off); the gateway and the web serve them
    # only there, never on their public port.
    metrics_port: int = Field(default=0, ge=0, le=65535)

    consistency_wait_seconds: float = 2.0
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> Settings:
        if self.uses_jwt_secret and self.jwt_secret == DEFAULT_SECRET:
            if self.environment == "production":
                raise ValueError("MICROBLOG_JWT_SECRET must be set to a real secret in production")
            if self.environment == "development":
                warnings.warn("using the default JWT secret (fine for development only)", stacklevel=2)
        if self.uses_internal_secret and self.internal_secret in (DEFAULT_INTERNAL_SECRET, ""):
            if self.environment == "production":
                raise ValueError("MICROBLOG_INTERNAL_SECRET must be set to a real secret in production")
            if not self.internal_secret:
                raise ValueError("MICROBLOG_INTERNAL_SECRET must not be empty")
        return self
