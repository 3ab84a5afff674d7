"""The checks on Tortoise's side: its migrations describe its models (``makemigrations`` would
find nothing to write), and ``migrate`` -> ``downgrade`` -> ``migrate`` round-trips."""

import asyncio

import pytest
from tortoise.context import TortoiseContext
from tortoise.migrations.autodetector import MigrationAutodetector

from tests.migrations.catalog import compare
from tests.migrations.conftest import schema_of, tortoise


async def _pending_migrations(config: dict) -> list[str]:
    async with TortoiseContext() as context:
        await context.init(config=config)
        writers = await MigrationAutodetector(context.apps, config["apps"]).changes()
    return [f"{writer.name}: {[op.describe() for op in writer.operations]}" for writer in writers]


def test_tortoise_models_match_their_migrations(
    empty_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `tortoise makemigrations` does, without writing a file: it must find no change."""
    monkeypatch.setenv("DATABASE_URL", empty_url)  # the config module reads it on import
    from implementations.tortoise.config import TORTOISE_ORM

    assert asyncio.run(_pending_migrations(TORTOISE_ORM)) == []


def test_migrate_downgrade_migrate_round_trip(tortoise_url: str, empty_url: str) -> None:
    tortoise(empty_url, "migrate")
    assert compare(schema_of(tortoise_url), schema_of(empty_url)) == []
    tortoise(empty_url, "downgrade", "models")
    assert {subject for subject in schema_of(empty_url) if subject.startswith("table ")} == {
        "table tortoise_migrations"
    }
    tortoise(empty_url, "migrate")
    assert compare(schema_of(tortoise_url), schema_of(empty_url)) == []
