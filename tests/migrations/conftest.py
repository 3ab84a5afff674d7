"""Empty databases on the session's server, migrated by Alembic or by Tortoise's own command.

Each database is created here and dropped at the end, whatever the test did to it.
"""

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg2
import pytest

from benchmarks.database import (
    Server,
    create_database,
    create_schema,
    drop_database,
    new_database_name,
)
from tests.migrations.catalog import Schema, read_schema

REPOSITORY = Path(__file__).resolve().parents[2]


@contextmanager
def empty_database(server: Server) -> Iterator[str]:
    name = new_database_name()
    url = create_database(server, name)
    try:
        yield url
    finally:
        drop_database(server, name)


@contextmanager
def cursor_on(url: str, *, autocommit: bool = True) -> Iterator["psycopg2.extensions.cursor"]:
    connection = psycopg2.connect(url)
    connection.autocommit = autocommit
    try:
        with connection.cursor() as cursor:
            yield cursor
    finally:
        connection.close()


def schema_of(url: str) -> Schema:
    with cursor_on(url) as cursor:
        return read_schema(cursor)


def tortoise(url: str, *args: str) -> str:
    """Tortoise's own CLI, as a user runs it from the repository root (it finds its config in
    pyproject.toml's [tool.tortoise]); returns what it printed."""
    done = subprocess.run(
        [sys.executable, "-m", "tortoise", *args],
        cwd=REPOSITORY,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"tortoise {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture
def empty_url(server: Server) -> Iterator[str]:
    with empty_database(server) as url:
        yield url


@pytest.fixture(scope="package")
def alembic_url(server: Server) -> Iterator[str]:
    """A database made the way every test and benchmark database is: create_schema, that is
    ``alembic upgrade head``."""
    with empty_database(server) as url:
        create_schema(url)
        yield url


@pytest.fixture(scope="package")
def tortoise_url(server: Server) -> Iterator[str]:
    with empty_database(server) as url:
        tortoise(url, "migrate")
        yield url
