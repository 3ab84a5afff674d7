"""One PostgreSQL server and one fresh ormbench database for the whole test session; a Redis
for the tests that need one.

The server is DATABASE_URL's if set (a database of our own is created there and dropped at
the end), else an embedded throwaway server. Redis likewise: REDIS_URL's if set (the tests
use keys under their own prefix and delete only those), else an embedded one, started only
when a test asks for it.
"""

import os
from collections.abc import Iterator

import psycopg2
import pytest
import redis

from benchmarks.database import Server, fresh_database, provide_server
from benchmarks.redis_server import RedisServer, delete_prefix, provide_redis, run_prefix

TABLES = ("transfer_logs", "tasks", "users")


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    with provide_server() as provided:
        yield provided


@pytest.fixture(scope="session")
def database_url(server: Server) -> Iterator[str]:
    with fresh_database(server) as url:
        yield url


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    with provide_redis() as provided:
        yield provided


MACHINE_REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="session", params=["embedded", "machine"])
def each_redis(request: pytest.FixtureRequest) -> Iterator[RedisServer]:
    """Tests about Redis itself run against an embedded server (always there) and against the
    machine's: REDIS_URL's, else one answering on 127.0.0.1:6379 (the tests work under a
    prefix of their own and delete only those keys); without either, that case is skipped
    and says so."""
    if request.param == "embedded":
        with provide_redis("embedded") as provided:
            yield provided
        return
    url = os.environ.get("REDIS_URL") or MACHINE_REDIS
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=2) as client:
            client.ping()
    except redis.RedisError:
        pytest.skip(f"no Redis answers at {url}: set REDIS_URL to run these against yours")
    yield RedisServer(url, "external")


@pytest.fixture(scope="session")
def redis_prefix(redis_server: RedisServer) -> Iterator[str]:
    """A key prefix of this test session's own; its keys are deleted at the end."""
    prefix = run_prefix("ormbench-test")
    yield prefix
    delete_prefix(redis_server.url, prefix)


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
