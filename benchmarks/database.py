"""Where a run's database comes from, in this order (docs/architecture.md, "Databases").

1. ``DATABASE_URL`` set: that server. The harness creates a fresh database named
   ``ormbench_<time>_<random>`` on it and drops it afterwards; it never touches any other.
2. Otherwise an embedded throwaway PostgreSQL (``embedded.py``).
3. ``testcontainers``, asked for by name, when a Docker engine answers; without one it fails
   at once, saying what to do instead.
"""

import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit, urlunsplit

import psycopg2
from psycopg2 import sql

from benchmarks.embedded import EmbeddedPostgres

if TYPE_CHECKING:
    from alembic.config import Config

ProviderName = Literal["auto", "embedded", "external", "testcontainers"]
DATABASE_PREFIX = "ormbench_"
DOCKER_IMAGE = "postgres:18"
# The checkout's alembic.ini (the project is installed editable, so the repository is here).
ALEMBIC_INI = Path(__file__).resolve().parent.parent / "alembic.ini"


class ProviderError(RuntimeError):
    """A database could not be provided; the message says what to do instead."""


@dataclass(frozen=True)
class Server:
    url: str  # a libpq URL to the server's maintenance database
    kind: Literal["embedded", "external", "testcontainers"]

    def database_url(self, name: str) -> str:
        return urlunsplit(urlsplit(self.url)._replace(path=f"/{name}"))

    @contextmanager
    def admin(self) -> Iterator["psycopg2.extensions.cursor"]:
        """A cursor on the maintenance database, outside any transaction (CREATE and DROP
        DATABASE refuse to run in one); the connection is closed afterwards."""
        connection = psycopg2.connect(self.url, connect_timeout=5)
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                yield cursor
        finally:
            connection.close()


def _libpq(url: str) -> str:
    """Accept SQLAlchemy-style URLs (postgresql+psycopg2://...) too."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="postgresql"))


def check_docker() -> None:
    """Raise ProviderError within ~2 s unless a Docker engine answers."""
    try:
        import docker  # only needed for this provider

        docker.from_env(timeout=2).ping()
    except Exception as exc:
        raise ProviderError(
            f"--db testcontainers needs a running Docker engine, and none answered ({exc}). "
            "Leave out --db to use the embedded PostgreSQL (nothing to install), or set "
            "DATABASE_URL=postgresql://USER@HOST:PORT/DB to use a server you have."
        ) from None


@contextmanager
def _testcontainers() -> Iterator[Server]:
    check_docker()
    from testcontainers.postgres import PostgresContainer

    with PostgresContainer(DOCKER_IMAGE, driver=None) as container:
        yield Server(_libpq(container.get_connection_url()), "testcontainers")


@contextmanager
def provide_server(provider: ProviderName = "auto") -> Iterator[Server]:
    """A PostgreSQL server for the duration of the block, chosen as the module says."""
    env_url = os.environ.get("DATABASE_URL")
    if provider == "testcontainers":
        with _testcontainers() as server:
            yield server
    elif provider == "external" or (provider == "auto" and env_url):
        if not env_url:
            raise ProviderError("--db external needs DATABASE_URL to name the server")
        server = Server(_libpq(env_url), "external")
        try:
            with server.admin():
                pass
        except psycopg2.OperationalError as exc:
            raise ProviderError(f"cannot connect to DATABASE_URL: {exc}".strip()) from None
        yield server
    else:
        with EmbeddedPostgres() as embedded:
            yield Server(embedded.url, "embedded")


def new_database_name() -> str:
    return f"{DATABASE_PREFIX}{time.strftime('%Y%m%d_%H%M%S')}_{secrets.token_hex(3)}"


def create_database(server: Server, name: str) -> str:
    with server.admin() as cursor:
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return server.database_url(name)


def drop_database(server: Server, name: str) -> None:
    """Drop a database this harness created (it refuses any other name)."""
    if not name.startswith(DATABASE_PREFIX):
        raise ValueError(f"refusing to drop {name!r}: not created by ormbench")
    with server.admin() as cursor:
        cursor.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@contextmanager
def fresh_database(server: Server) -> Iterator[str]:
    """A new, empty database with the ormbench schema; dropped when the block ends."""
    name = new_database_name()
    url = create_database(server, name)
    try:
        create_schema(url)
        yield url
    finally:
        drop_database(server, name)


def alembic_config(url: str) -> "Config":
    """The repository's alembic.ini, aimed at ``url`` (instead of DATABASE_URL), leaving the
    caller's logging alone."""
    from alembic.config import Config

    config = Config(ALEMBIC_INI)
    # A Config value is interpolated: a % in a password must be doubled.
    config.set_main_option("sqlalchemy.url", _sqlalchemy(url).replace("%", "%%"))
    config.attributes["configure_logger"] = False
    return config


def create_schema(url: str) -> None:
    """The ormbench schema, the one way: ``alembic upgrade head`` (migrations/)."""
    from alembic import command
    from sqlalchemy import create_engine

    engine = create_engine(_sqlalchemy(url))
    try:
        with engine.begin() as connection:
            if _preloaded(connection):  # lets tests check statement counts against the server's
                connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    finally:
        engine.dispose()
    command.upgrade(alembic_config(url), "head")


def _sqlalchemy(url: str) -> str:
    return _libpq(url).replace("postgresql://", "postgresql+psycopg2://", 1)


def _preloaded(connection: object) -> bool:
    libraries = connection.exec_driver_sql(  # type: ignore[attr-defined]
        "SELECT current_setting('shared_preload_libraries')"
    ).scalar()
    return "pg_stat_statements" in libraries
