"""The database providers: fresh databases come and go, nothing else is touched."""

import os
from pathlib import Path

import psycopg2
import pytest

from benchmarks import database
from benchmarks.database import ProviderError, Server, fresh_database, provide_server
from benchmarks.embedded import EmbeddedPostgres
from tests.support import ormbench_databases


def test_fresh_database_is_created_with_the_schema_and_dropped(server: Server) -> None:
    before = ormbench_databases(server)
    with fresh_database(server) as url:
        name = url.rsplit("/", 1)[1]
        assert name.startswith("ormbench_")
        assert ormbench_databases(server) == before | {name}
        with psycopg2.connect(url) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            tables = {t for (t,) in cursor.fetchall()}
            assert tables == {"users", "tasks", "transfer_logs", "alembic_version"}  # migrated
        connection.close()
    assert ormbench_databases(server) == before


def test_database_is_dropped_even_when_the_block_fails(server: Server) -> None:
    before = ormbench_databases(server)
    with pytest.raises(RuntimeError, match="boom"), fresh_database(server):
        raise RuntimeError("boom")
    assert ormbench_databases(server) == before


@pytest.mark.parametrize("name", ["postgres", "template1", "app", "ormbenchx"])
def test_refuses_to_drop_a_database_it_did_not_create(server: Server, name: str) -> None:
    with pytest.raises(ValueError, match="not created by ormbench"):
        database.drop_database(server, name)


def test_database_url_selects_the_external_provider(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "DATABASE_URL", server.url.replace("postgresql://", "postgresql+psycopg2://")
    )
    with provide_server() as external:
        assert external.kind == "external"
        assert external.url == server.url  # the SQLAlchemy driver suffix is accepted and dropped


def test_unreachable_database_url_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(ProviderError, match="cannot connect to DATABASE_URL"), provide_server():
        pass


def test_testcontainers_without_docker_says_what_to_do_instead() -> None:
    try:
        import docker

        docker.from_env(timeout=2).ping()
    except Exception:
        pass
    else:
        pytest.skip("a Docker engine answers here; this test is about its absence")
    with pytest.raises(ProviderError) as raised, provide_server("testcontainers"):
        pass
    message = str(raised.value)
    assert "Docker engine" in message
    assert "DATABASE_URL" in message
    assert "embedded" in message


def test_embedded_server_runs_unprivileged_and_leaves_nothing_behind() -> None:
    with EmbeddedPostgres() as embedded:
        root = embedded.root
        assert root is not None
        assert root.exists()
        with psycopg2.connect(embedded.url) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('fsync'), current_setting('listen_addresses')")
            assert cursor.fetchone() == ("off", "127.0.0.1")
        connection.close()
        if os.geteuid() == 0:
            assert (root / "data").stat().st_uid != 0, "PostgreSQL refuses to run as root"
    assert not Path(root).exists()
