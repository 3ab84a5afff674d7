"""The one settings class every implementation is built from.

Pool size, overflow and driver are set here once, so every implementation gets the same pool:
an unequal pool makes every comparison between implementations void.
"""

from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# URL schemes each client library expects for the same server and database.
_SCHEMES = {
    "libpq": "postgresql",  # psycopg2 and asyncpg take a plain libpq URL
    "psycopg2": "postgresql+psycopg2",  # SQLAlchemy: a bare postgresql:// means psycopg 3 in 2.1
    "asyncpg": "postgresql+asyncpg",
    "tortoise": "asyncpg",
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ORMBENCH_", populate_by_name=True, frozen=True)

    # DATABASE_URL is the conventional name; ORMBENCH_DATABASE_URL also works.
    database_url: str = Field(
        validation_alias=AliasChoices("DATABASE_URL", "ORMBENCH_DATABASE_URL", "database_url"),
        description="Any postgresql URL; each implementation swaps in its own driver.",
    )
    # A fixed-size pool (no overflow by default) is the only shape every driver's pool can
    # copy exactly: asyncpg and Tortoise pools have a maximum size and no overflow notion.
    pool_size: int = Field(default=10, ge=1, le=1000)
    max_overflow: int = Field(default=0, ge=0, le=1000)
    pool_timeout: float = Field(default=30.0, gt=0, description="seconds to wait for a connection")
    pool_recycle: int = Field(default=-1, description="seconds before a connection is replaced")
    pool_pre_ping: bool = Field(default=False, description="ping on checkout (one round trip)")
    # The knobs below exist for the pooling benchmark's configurations (scenarios/pooling.py);
    # their defaults are what every implementation does otherwise.
    pooled: bool = Field(
        default=True,
        description="False: no pool, a new connection per operation (NullPool, "
        "psycopg2.connect, asyncpg.connect; Tortoise: a pool whose connections serve one query)",
    )
    pool_reset_on_release: bool = Field(
        default=True, description="asyncpg pools: send asyncpg's reset query on every release"
    )
    statement_cache: bool = Field(
        default=True,
        description="False: asyncpg's and SQLAlchemy's prepared statement caches off, unnamed "
        "statements (what PgBouncer in transaction mode needs)",
    )
    application_name: str | None = Field(
        default=None, description="the name the server shows in pg_stat_activity"
    )
    echo: bool = False
    # Argon2id cost. OWASP's minimum (19 MiB, 2 passes) by default; benchmarks and tests lower
    # it, and say so, because hashing would otherwise dominate every create-user timing.
    password_hash_time_cost: int = Field(default=2, ge=1, le=10)
    password_hash_memory_kib: int = Field(default=19_456, ge=8, le=1_048_576)
    # Caching GET /users/{id}/stats (contract/cache.py): off by default, so that every
    # statement count and timing of the API is the database's unless asked otherwise.
    cache: Literal["none", "memory", "redis"] = Field(
        default="none", description="none, memory (per process, cachetools) or redis"
    )
    redis_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("REDIS_URL", "ORMBENCH_REDIS_URL", "redis_url"),
        description="The Redis of cache=redis, e.g. redis://127.0.0.1:6379/0",
    )
    cache_ttl: float = Field(default=60.0, gt=0, le=86_400, description="seconds an entry lives")
    cache_prefix: str = Field(
        default="ormbench", min_length=1, description="every Redis key starts with PREFIX:"
    )

    @field_validator("database_url")
    @classmethod
    def _postgres_only(cls, value: str) -> str:
        scheme = urlsplit(value).scheme
        if not scheme.startswith(("postgresql", "postgres", "asyncpg")):
            raise ValueError(f"expected a postgresql:// URL, got scheme {scheme!r}")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_only(cls, value: str | None) -> str | None:
        if not value:
            return None  # REDIS_URL= (set but empty) means none
        if urlsplit(value).scheme not in ("redis", "rediss", "unix"):
            # The scheme only: a URL may carry a password.
            raise ValueError(f"expected a redis:// URL, got scheme {urlsplit(value).scheme!r}")
        return value

    @model_validator(mode="after")
    def _redis_for_redis_cache(self) -> "Settings":
        if self.cache == "redis" and not self.redis_url:
            raise ValueError("ORMBENCH_CACHE=redis needs REDIS_URL (redis://HOST:PORT/DB)")
        return self

    @property
    def pool_max(self) -> int:
        """The most connections any implementation may hold at once."""
        return self.pool_size + self.max_overflow

    def url_for(self, client: str) -> str:
        """The database URL in the form ``client`` expects (see ``_SCHEMES``)."""
        parts = urlsplit(self.database_url)
        return urlunsplit(parts._replace(scheme=_SCHEMES[client]))

    @property
    def database_name(self) -> str:
        return urlsplit(self.database_url).path.lstrip("/")
