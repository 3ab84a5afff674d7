"""The ``ormbench`` command as a user runs it: real processes, real HTTP through uvicorn."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import psycopg2
import pytest

from benchmarks.database import Server
from benchmarks.embedded import free_port
from implementations import IMPLEMENTATIONS
from tests.support import ormbench_databases

ORMBENCH = str(Path(sys.executable).with_name("ormbench"))


def wait_until_serving(process: subprocess.Popen[str], url: str) -> None:
    """Poll /health until it answers (bounded: 60 tries), or fail with the server's output."""
    for _ in range(120):
        if process.poll() is not None:
            break
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    process.kill()
    pytest.fail(f"server did not come up:\n{process.communicate()[0]}")


@pytest.fixture(params=list(IMPLEMENTATIONS))
def served(request: pytest.FixtureRequest, server: Server) -> Iterator[tuple[str, str]]:
    """``ormbench serve --impl NAME`` on the session's server, stopped with SIGTERM."""
    port = free_port()
    before = ormbench_databases(server)
    process = subprocess.Popen(
        [ORMBENCH, "serve", "--impl", request.param, "--port", str(port)],
        env={**os.environ, "DATABASE_URL": server.url},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(process, f"{base}/health")
    yield request.param, base
    process.send_signal(signal.SIGTERM)
    output = process.communicate(timeout=30)[0]
    assert process.returncode == 0, output
    assert ormbench_databases(server) == before, "serve left its database behind"


@pytest.mark.server
def test_serve_answers_over_http_and_cleans_up(served: tuple[str, str]) -> None:
    name, base = served
    with httpx.Client(base_url=base, timeout=10) as http:
        health = http.get("/health")
        assert health.json()["implementation"] == name
        user = {"email": "ada@example.com", "username": "ada", "password": "correct horse"}
        assert http.post("/users", json=user).status_code == 201
        assert http.post("/users", json=user).status_code == 409
        assert http.post("/users/1/tasks", json={"title": "t", "priority": 7}).status_code == 422
        assert http.get("/users/1/tasks", params={"sort_by": "drop table"}).status_code == 422
        assert http.get("/users/999/tasks").status_code == 404
        listing = http.get("/users/with-tasks", params={"limit": 50})
        assert listing.status_code == 200
        assert int(listing.headers["x-query-count"]) <= 2


def test_serve_refuses_an_unknown_implementation() -> None:
    result = subprocess.run(
        [ORMBENCH, "serve", "--impl", "django"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "unknown implementation 'django'" in result.stderr


def test_db_up_url_down(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [ORMBENCH, "db", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            env={k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
        )

    up = run("up")
    assert up.returncode == 0, up.stderr
    url = up.stdout.strip()
    try:
        assert run("url").stdout.strip() == url
        assert run("up").returncode == 2  # one at a time
        with psycopg2.connect(url) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            assert cursor.fetchone() == (1,)
        connection.close()
    finally:
        down = run("down")
    assert down.returncode == 0, down.stderr
    with pytest.raises(psycopg2.OperationalError):
        psycopg2.connect(url, connect_timeout=2)
    assert run("url").returncode == 2
