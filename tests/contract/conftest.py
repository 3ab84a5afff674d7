"""The contract suite runs against every implementation in the registry.

Adding an implementation to ``implementations.IMPLEMENTATIONS`` adds it here.

``ORMBENCH_CACHE=memory`` or ``redis`` runs the whole suite against apps that cache their
stats (contract/stats_cache.py): every answer must be the same as without the cache.
"""

import os
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from implementations import IMPLEMENTATIONS, create_app
from implementations.contract.settings import Settings


def settings_for(database_url: str, **overrides: Any) -> Settings:
    # A real Argon2id hash at a low cost: the suite creates hundreds of users. The cache is
    # off unless asked for (the environment's ORMBENCH_CACHE is read by the fixture below).
    return Settings(
        database_url=database_url,
        password_hash_time_cost=1,
        password_hash_memory_kib=1024,
        **{"cache": "none", **overrides},
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "implementation" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("--impl") or list(IMPLEMENTATIONS)
        metafunc.parametrize("implementation", chosen, scope="session")


def cache_settings(request: pytest.FixtureRequest, mode: str, name: str) -> dict[str, Any]:
    """Settings of an app caching its stats in ``mode``, under a prefix of its own."""
    if mode == "none":
        return {"cache": "none"}
    if mode not in ("memory", "redis"):
        raise pytest.UsageError(f"ORMBENCH_CACHE={mode!r}: choose none, memory or redis")
    settings: dict[str, Any] = {"cache": mode}
    if mode == "redis":
        settings["redis_url"] = request.getfixturevalue("redis_server").url
        settings["cache_prefix"] = f"{request.getfixturevalue('redis_prefix')}:{name}"
    return settings


@pytest.fixture(scope="session")
def app_client(
    request: pytest.FixtureRequest, implementation: str, database_url: str
) -> Iterator[TestClient]:
    cache = cache_settings(request, os.environ.get("ORMBENCH_CACHE", "none"), implementation)
    app = create_app(implementation, settings_for(database_url, **cache))
    with TestClient(app, raise_server_exceptions=False) as client:  # runs the lifespan
        yield client


def forget_cache(client: TestClient) -> None:
    """Drop every cached answer of the app: the tests truncate tables behind its back (ids
    start again from 1), which no write through the API would ever do."""
    cache = getattr(client.app.state, "stats_cache", None)  # type: ignore[attr-defined]
    if cache is not None:
        client.portal.call(cache.invalidate_all)  # type: ignore[union-attr]


@pytest.fixture
def client(app_client: TestClient, empty_tables: None) -> TestClient:
    """The implementation's API, over empty tables."""
    forget_cache(app_client)
    return app_client
