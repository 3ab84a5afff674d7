"""One PostgreSQL server and one fresh ormbench database for the whole test session.

The server is DATABASE_URL's if set (a database of our own is created there and dropped at
the end), else an embedded throwaway server.
"""

from collections.abc import Iterator

import psycopg2
import pytest

from benchmarks.database import Server, fresh_database, provide_server

TABLES = ("transfer_logs", "tasks", "users")


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    with provide_server() as provided:
        yield provided


@pytest.fixture(scope="session")
def database_url(server: Server) -> Iterator[str]:
    with fresh_database(server) as url:
        yield url


@pytest.fixture
def db(database_url: str) -> Iterator["psycopg2.extensions.cursor"]:
    """A cursor on the test database, for checking what was (or was not) written."""
    connection = psycopg2.connect(database_url)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            yield cursor
    finally:
        connection.close()


@pytest.fixture
def empty_tables(db: "psycopg2.extensions.cursor") -> None:
    """Start from empty tables with ids from 1 (they live in a database this run created)."""
    db.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--impl",
        action="append",
        default=[],
        help="run the contract suite only against these implementations (repeatable)",
    )
