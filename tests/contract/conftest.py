"""The contract suite runs against every implementation in the registry.

Adding an implementation to ``implementations.IMPLEMENTATIONS`` adds it here.
"""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from implementations import IMPLEMENTATIONS, create_app
from implementations.contract.settings import Settings


def settings_for(database_url: str) -> Settings:
    # A real Argon2id hash at a low cost: the suite creates hundreds of users.
    return Settings(
        database_url=database_url, password_hash_time_cost=1, password_hash_memory_kib=1024
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "implementation" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("--impl") or list(IMPLEMENTATIONS)
        metafunc.parametrize("implementation", chosen, scope="session")


@pytest.fixture(scope="session")
def app_client(implementation: str, database_url: str) -> Iterator[TestClient]:
    app = create_app(implementation, settings_for(database_url))
    with TestClient(app, raise_server_exceptions=False) as client:  # runs the lifespan
        yield client


@pytest.fixture
def client(app_client: TestClient, empty_tables: None) -> TestClient:
    """The implementation's API, over empty tables."""
    return app_client
