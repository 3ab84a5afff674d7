"""Alembic's migrations and Tortoise's own build the same schema, read from PostgreSQL's catalog.

The apps always run on the Alembic schema; this proves that someone who runs
``tortoise migrate`` instead gets the same tables, columns, types, defaults, keys, constraints
and indexes. Every difference that remains is in ``ALLOWED``, with its reason; anything else
fails, and so does an allowance that is no longer needed.
"""

import pytest

from tests.migrations.catalog import Difference, Schema, compare, read_schema
from tests.migrations.conftest import cursor_on, schema_of

TABLES = ("users", "tasks", "transfer_logs")
FOREIGN_KEYS = (  # (table, column, referred table)
    ("tasks", "user_id", "users"),
    ("transfer_logs", "task_id", "tasks"),
    ("transfer_logs", "from_user_id", "users"),
    ("transfer_logs", "to_user_id", "users"),
)

# Alembic's side on the left, Tortoise's on the right.
ALLOWED: dict[Difference, str] = {
    Difference("table alembic_version", "exists", "yes", "no"): (
        "Alembic's record of the applied revision"
    ),
    Difference("table tortoise_migrations", "exists", "no", "yes"): (
        "Tortoise's record of the applied migrations"
    ),
    **{
        Difference(f"primary key {table} (id)", "name", f"pk_{table}", f"{table}_pkey"): (
            "Tortoise cannot name a primary key, so PostgreSQL names it; nothing maps a "
            "primary key violation by name (ids come from the sequence)"
        )
        for table in TABLES
    },
    **{
        Difference(
            f"foreign key {table} ({column}) -> {referred} (id)",
            "name",
            f"fk_{table}_{column}_{referred}",
            f"{table}_{column}_fkey",
        ): (
            "Tortoise cannot name a foreign key (its migrations write REFERENCES inline), so "
            "PostgreSQL names it. The apps map fk_tasks_user_id_users to 'User not found': "
            "they need the Alembic schema, which is the one the harness always creates"
        )
        for table, column, referred in FOREIGN_KEYS
    },
    **{
        Difference(f"column {table}.created_at", "default", "now()", "CURRENT_TIMESTAMP"): (
            "Tortoise's Now() writes CURRENT_TIMESTAMP, the SQL standard's name for now(): "
            "the same function, the transaction's start time"
        )
        for table in TABLES
    },
}


def unexpected(alembic: Schema, tortoise: Schema) -> list[Difference]:
    return [d for d in compare(alembic, tortoise) if d not in ALLOWED]


def report(differences: list[Difference]) -> str:
    return "schemas differ (Alembic's left, Tortoise's right):\n" + "\n".join(
        f"  {d}" for d in differences
    )


@pytest.fixture(scope="module")
def alembic_schema(alembic_url: str) -> Schema:
    return schema_of(alembic_url)


@pytest.fixture(scope="module")
def tortoise_schema(tortoise_url: str) -> Schema:
    return schema_of(tortoise_url)


def test_alembic_and_tortoise_migrations_build_the_same_schema(
    alembic_schema: Schema, tortoise_schema: Schema
) -> None:
    differences = unexpected(alembic_schema, tortoise_schema)
    assert not differences, report(differences)


def test_every_allowance_is_still_needed(alembic_schema: Schema, tortoise_schema: Schema) -> None:
    found = set(compare(alembic_schema, tortoise_schema))
    assert [str(d) for d in ALLOWED if d not in found] == []


def test_the_schemas_hold_what_the_apps_depend_on(alembic_schema: Schema) -> None:
    """The names contract/errors.py maps to 409s and 404s, on the schema the apps use."""
    names = {item.facets.get("name") for item in alembic_schema.values()}
    for name in ("uq_users_email", "uq_users_username", "uq_tasks_user_id_title"):
        assert name in names
    assert "fk_tasks_user_id_users" in names


# One side altered inside a transaction that is rolled back: the comparison must report it.
ALTERATIONS = {
    "column type": (
        "tortoise",
        "ALTER TABLE tasks ALTER COLUMN title TYPE text",
        [Difference("column tasks.title", "type", "character varying(255)", "text")],
    ),
    "index dropped": (
        "alembic",
        "DROP INDEX ix_tasks_user_id_priority",
        [Difference("index tasks (user_id, priority)", "exists", "no", "yes")],
    ),
    "index columns reordered": (
        "alembic",
        "DROP INDEX ix_tasks_user_id_completed;"
        "CREATE INDEX ix_tasks_user_id_completed ON tasks (completed, user_id)",
        [
            Difference("index tasks (completed, user_id)", "exists", "yes", "no"),
            Difference("index tasks (user_id, completed)", "exists", "no", "yes"),
        ],
    ),
    "nullability": (
        "alembic",
        "ALTER TABLE tasks ALTER COLUMN description SET NOT NULL",
        [Difference("column tasks.description", "nullable", "NOT NULL", "NULL")],
    ),
    "default": (
        "tortoise",
        "ALTER TABLE tasks ALTER COLUMN priority SET DEFAULT 1",
        [Difference("column tasks.priority", "default", "0", "1")],
    ),
    "on delete action": (
        "tortoise",
        "ALTER TABLE tasks DROP CONSTRAINT tasks_user_id_fkey,"
        " ADD CONSTRAINT tasks_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id)",
        [
            Difference(
                "foreign key tasks (user_id) -> users (id)", "on delete", "CASCADE", "NO ACTION"
            )
        ],
    ),
    "unique constraint dropped": (
        "alembic",
        "ALTER TABLE tasks DROP CONSTRAINT uq_tasks_user_id_title",
        [Difference("unique tasks (user_id, title)", "exists", "no", "yes")],
    ),
    "check constraint changed": (
        "tortoise",
        "ALTER TABLE tasks DROP CONSTRAINT ck_tasks_priority_range,"
        " ADD CONSTRAINT ck_tasks_priority_range CHECK (priority BETWEEN 0 AND 9)",
        [
            Difference(
                "check tasks CHECK (((priority >= 0) AND (priority <= 5)))", "exists", "yes", "no"
            ),
            Difference(
                "check tasks CHECK (((priority >= 0) AND (priority <= 9)))", "exists", "no", "yes"
            ),
        ],
    ),
    "column added": (
        "tortoise",
        "ALTER TABLE users ADD COLUMN nickname text",
        [Difference("column users.nickname", "exists", "no", "yes")],
    ),
}


@pytest.mark.parametrize(("side", "statement", "expected"), ALTERATIONS.values(), ids=ALTERATIONS)
def test_a_change_on_one_side_only_is_reported(
    side: str,
    statement: str,
    expected: list[Difference],
    alembic_url: str,
    tortoise_url: str,
    alembic_schema: Schema,
    tortoise_schema: Schema,
) -> None:
    with cursor_on(alembic_url if side == "alembic" else tortoise_url, autocommit=False) as cursor:
        cursor.execute(statement)
        changed = read_schema(cursor)
        cursor.connection.rollback()
    if side == "alembic":
        differences = unexpected(changed, tortoise_schema)
    else:
        differences = unexpected(alembic_schema, changed)
    assert differences == expected
