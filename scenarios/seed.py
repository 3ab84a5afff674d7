"""Deterministic data for the scenarios, loaded by the harness (never timed).

The same seed gives the same rows, ids and timestamps on every run and for every
implementation, so statement counts and results can be compared exactly.
"""

import io
import itertools
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg2
import psycopg2.extras
from argon2 import PasswordHasher

SEED = 20261125
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
TABLES = ("transfer_logs", "tasks", "users")
# One real Argon2id hash for every seeded user: seeding hashes once, and no scenario logs in.
SEEDED_HASH = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("seeded-password")
_new_user_numbers = itertools.count(1)


@dataclass
class Database:
    """The harness's own connection to the run's database (autocommit)."""

    url: str
    # True for a database made for the scenario that runs in it (``OWN_DATABASE``): only
    # there may a scenario change the schema (scenarios/index_sets.py checks).
    own: bool = False
    connection: Any = field(init=False)

    def __post_init__(self) -> None:
        self.connection = psycopg2.connect(self.url)
        self.connection.autocommit = True

    @contextmanager
    def cursor(self) -> Iterator[Any]:
        with self.connection.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cursor:
            yield cursor

    def execute(self, sql: str, params: Any = None) -> None:
        with self.cursor() as cursor:
            cursor.execute(sql, params)

    def all(self, sql: str, params: Any = None) -> list[dict[str, Any]]:
        with self.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall())

    def value(self, sql: str, params: Any = None) -> Any:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()[0]

    def copy(self, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        buffer = io.StringIO()
        for row in rows:
            buffer.write("\t".join(r"\N" if v is None else str(v) for v in row) + "\n")
        buffer.seek(0)
        with self.connection.cursor() as cursor:
            cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)

    def reset(self) -> None:
        """Empty tables, ids from 1: every scenario starts from the same state."""
        self.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")

    def close(self) -> None:
        self.connection.close()


def users_and_tasks(
    db: Database, users: int, tasks_per_user: int, *, interleaved: bool = False
) -> dict[str, int]:
    """``users`` users (ids 1..users) with ``tasks_per_user`` tasks each: task ids in user
    order, or with ``interleaved`` in the order a live service writes them (every user's
    first task, then every user's second, ...), which spreads one user's tasks over the
    table. The rows' values are the same either way; only their ids and places differ."""
    db.copy(
        "users",
        ("email", "username", "hashed_password", "created_at"),
        [
            (f"user{i}@example.com", f"user{i}", SEEDED_HASH, EPOCH + timedelta(seconds=i))
            for i in range(1, users + 1)
        ],
    )
    rows = task_rows(users, tasks_per_user)
    if interleaved:
        rows = [rows[u * tasks_per_user + j] for j in range(tasks_per_user) for u in range(users)]
    db.copy(
        "tasks",
        ("user_id", "title", "description", "priority", "completed", "created_at"),
        rows,
    )
    db.execute("ANALYZE users; ANALYZE tasks")
    return {"users": users, "tasks": users * tasks_per_user}


def task_rows(users: int, tasks_per_user: int) -> list[tuple[Any, ...]]:
    """The seeded tasks' columns, user by user (users_and_tasks' COPY order)."""
    rng = random.Random(SEED)
    rows = []
    for user_id in range(1, users + 1):
        for j in range(1, tasks_per_user + 1):
            description = None if j % 3 == 0 else f"Task {j} of user {user_id}"
            rows.append(
                (
                    user_id,
                    f"task {j:05d}",
                    description,
                    rng.randint(0, 5),
                    "t" if rng.random() < 0.4 else "f",
                    EPOCH + timedelta(minutes=user_id, seconds=j),
                )
            )
    return rows


def new_users(db: Database, prefix: str, count: int) -> list[int]:
    """``count`` more users (for calls that consume one), named after ``prefix``."""
    rows = db.all(
        "INSERT INTO users (email, username, hashed_password) "
        "SELECT %(p)s || n || '@example.com', %(p)s || n, %(h)s "
        "FROM generate_series(1, %(count)s) AS n RETURNING id",
        {"p": f"{prefix}{next(_new_user_numbers)}_", "h": SEEDED_HASH, "count": count},
    )
    return [row["id"] for row in rows]
