"""The checks a user can run on the Alembic side: no drift between models and migrations, a
full round trip, and the priority revision on a table that already holds rows."""

import psycopg2.extensions
from alembic import command
from sqlalchemy import create_engine

from benchmarks.database import alembic_config, create_schema
from implementations.sync_sqlalchemy.models import Base
from tests.migrations.catalog import Difference, compare
from tests.migrations.conftest import cursor_on, schema_of

ONLY_ALEMBIC_VERSION = [Difference("table alembic_version", "exists", "yes", "no")]


def test_no_drift_between_models_and_migrations(alembic_url: str) -> None:
    """`alembic check`: autogenerate finds nothing to add, drop or alter (it raises if it does)."""
    command.check(alembic_config(alembic_url))


def test_migrations_build_exactly_what_the_models_describe(
    alembic_url: str, empty_url: str
) -> None:
    """`alembic check` does not see CHECK constraints, so the catalog is compared too, against
    the models' own DDL. create_all is used here, and only here, as that reference."""
    engine = create_engine(empty_url.replace("postgresql://", "postgresql+psycopg2://", 1))
    try:
        with engine.begin() as connection:
            Base.metadata.create_all(connection)
    finally:
        engine.dispose()
    assert compare(schema_of(alembic_url), schema_of(empty_url)) == ONLY_ALEMBIC_VERSION


def test_upgrade_downgrade_upgrade_round_trip(empty_url: str) -> None:
    config = alembic_config(empty_url)
    command.upgrade(config, "head")
    first = schema_of(empty_url)
    command.downgrade(config, "base")
    assert {subject for subject in schema_of(empty_url) if subject.startswith("table ")} == {
        "table alembic_version"
    }
    command.upgrade(config, "head")
    assert compare(first, schema_of(empty_url)) == []


def _tasks(cursor: "psycopg2.extensions.cursor") -> list[tuple]:
    cursor.execute("SELECT id, title, user_id FROM tasks ORDER BY id")
    return cursor.fetchall()


def _has_column(cursor: "psycopg2.extensions.cursor", name: str) -> bool:
    cursor.execute(
        "SELECT 1 FROM information_schema.columns WHERE table_name = 'tasks' AND column_name = %s",
        (name,),
    )
    return cursor.fetchone() is not None


def _has_index(cursor: "psycopg2.extensions.cursor", name: str) -> bool:
    cursor.execute("SELECT 1 FROM pg_indexes WHERE tablename = 'tasks' AND indexname = %s", (name,))
    return cursor.fetchone() is not None


def test_priority_revision_keeps_the_rows_it_finds(empty_url: str) -> None:
    config = alembic_config(empty_url)
    command.upgrade(config, "0001")
    with cursor_on(empty_url) as cursor:
        cursor.execute(
            "INSERT INTO users (email, username, hashed_password)"
            " VALUES ('a@example.com', 'ada', 'x')"
        )
        cursor.execute("INSERT INTO tasks (title, user_id) VALUES ('one', 1), ('two', 1)")
        before = _tasks(cursor)

        command.upgrade(config, "0002")
        assert _tasks(cursor) == before
        cursor.execute("SELECT priority FROM tasks")
        assert cursor.fetchall() == [(0,), (0,)]  # the server default fills existing rows
        assert _has_column(cursor, "priority")
        assert _has_index(cursor, "ix_tasks_user_id_priority")

        command.downgrade(config, "0001")
        assert _tasks(cursor) == before
        assert not _has_column(cursor, "priority")
        assert not _has_index(cursor, "ix_tasks_user_id_priority")


def test_create_schema_is_alembic_upgrade_head(empty_url: str) -> None:
    create_schema(empty_url)
    with cursor_on(empty_url) as cursor:
        cursor.execute("SELECT version_num FROM alembic_version")
        assert cursor.fetchall() == [("0003",)]
