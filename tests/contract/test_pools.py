"""Same pool for every implementation: an unequal pool voids every comparison."""

from contextlib import nullcontext

from fastapi.testclient import TestClient

from implementations import IMPLEMENTATIONS
from implementations.contract.settings import Settings


def test_pool_ceiling_is_the_one_from_settings(
    app_client: TestClient, implementation: str, database_url: str
) -> None:
    app_client.get("/health")  # Tortoise builds its pool on first use
    state = app_client.app.state  # type: ignore[attr-defined]
    # Tortoise's client is reachable only inside the app's own context.
    with getattr(state, "_tortoise_context", None) or nullcontext():
        ceiling = state.database.max_connections
    assert ceiling == Settings(database_url=database_url, cache="none").pool_max


def test_every_implementation_names_a_driver_of_the_two_families() -> None:
    # The floor of a sync implementation is psycopg2, of an async one asyncpg.
    for name, (driver, mode) in IMPLEMENTATIONS.items():
        assert (driver, mode) in {("psycopg2", "sync"), ("asyncpg", "async")}, name
