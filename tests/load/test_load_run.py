"""``ormbench load`` as a user runs it: real uvicorn servers, real locust processes, traffic
on 127.0.0.1 only, each load a few seconds long.

The statements behind every endpoint under load must be the contract's own counts
(tests/contract/test_statement_counts.py), for every implementation; every response is
counted, on one locust process or summed from a master's workers; and nothing the command
started outlives it, also when it is interrupted.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil
import pytest

from benchmarks.database import Server
from benchmarks.embedded import free_port
from implementations import IMPLEMENTATIONS
from tests.contract.test_statement_counts import expected_statements
from tests.support import ormbench_databases

ORMBENCH = str(Path(sys.executable).with_name("ormbench"))
SHORT = ["--users", "4", "--duration", "3s", "--seeded-users", "50", "--tasks-per-user", "5"]

# The locustfile's endpoints and the contract's labels for the same request.
CONTRACT_LABELS = {
    "GET /users/{id}": "GET /users/{id}",
    "GET /users/{id}/tasks?filtered": "GET /users/{id}/tasks filtered",
    "GET /users/with-tasks": "GET /users/with-tasks",
    "GET /users/{id}/stats": "GET /users/{id}/stats",
    "GET /tasks/{id}": "GET /tasks/{id}",
    "POST /users/{id}/tasks": "POST /users/{id}/tasks",
    "PATCH /tasks/{id}": "PATCH /tasks/{id}",
    "PATCH /tasks/bulk": "PATCH /tasks/bulk (3 items)",  # the locustfile's BULK_ITEMS
    "POST /tasks/{id}/transfer": "POST /tasks/{id}/transfer",
}
MIX = set(CONTRACT_LABELS) - {"GET /tasks/{id}"}  # that one only follows a failed transfer


def ormbench_load(server: Server, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ORMBENCH, "load", "--out", str(out), *args],
        env={**os.environ, "DATABASE_URL": server.url},
        capture_output=True,
        text=True,
        timeout=300,
    )


def check_run(implementation: str, figures: dict[str, Any]) -> set[str]:
    """The figures of a clean run: requests and no failures, every response counted, and the
    statements of every endpoint exactly the contract's. Returns the endpoints seen."""
    assert figures["requests"] > 0
    assert figures["failures"] == 0, figures["failure_messages"]
    assert figures["exceptions"] == 0
    assert figures["rps"] > 0
    assert 0 < figures["p50_ms"] <= figures["p95_ms"] <= figures["p99_ms"]
    assert figures["server_cpu_ms_per_request"] > 0
    assert figures["pool"]["samples"] > 0
    assert figures["pool"]["connections_max"] <= figures["pool"]["pool_max"]
    assert set(figures["endpoints"]) <= set(CONTRACT_LABELS)
    for endpoint, seen in figures["endpoints"].items():
        assert seen["failures"] == 0, endpoint
        assert seen["responses_counted"] == seen["requests"], endpoint
        expected = expected_statements(implementation, CONTRACT_LABELS[endpoint])
        statements = seen["statements"]
        assert (statements["min"], statements["max"]) == (expected, expected), (
            implementation,
            endpoint,
        )
        assert seen["round_trips"]["min"] >= expected
    return set(figures["endpoints"])


@pytest.mark.server
def test_every_implementation_under_load(server: Server, tmp_path: Path) -> None:
    before = ormbench_databases(server)
    result = ormbench_load(server, tmp_path, "--impl", "all", *SHORT, "--fail-on", "failures=0")
    assert result.returncode == 0, result.stderr
    document = json.loads((tmp_path / "comparison.json").read_text())
    assert list(document["implementations"]) == list(IMPLEMENTATIONS)
    seen: set[str] = set()
    for name, figures in document["implementations"].items():
        seen |= check_run(name, figures)
    assert seen >= MIX  # over five runs, every task of the mix ran
    # One folder per run, in running order, with locust's own reports in it.
    sequence = [name for _, name in document["plan"]["sequence"]]
    folders = [run["folder"] for run in document["runs"]]
    assert folders == [f"{n:02d}-{name}" for n, name in enumerate(sequence, 1)]
    for folder in folders:
        for written in ("locust.json", "locust_stats.csv", "locust.html", "statements.json"):
            assert (tmp_path / folder / written).stat().st_size > 0, (folder, written)
    assert (tmp_path / "comparison.png").stat().st_size > 0
    markdown = (tmp_path / "comparison.md").read_text()
    assert all(f"| {name} |" in markdown for name in IMPLEMENTATIONS)
    assert "pass raw_asyncpg: --fail-on failures=0" in result.stderr
    assert ormbench_databases(server) == before, "load left its database behind"


@pytest.mark.server
def test_a_master_and_two_workers(server: Server, tmp_path: Path) -> None:
    result = ormbench_load(server, tmp_path, "--impl", "raw_psycopg2", "--workers", "2", *SHORT)
    assert result.returncode == 0, result.stderr
    document = json.loads((tmp_path / "comparison.json").read_text())
    check_run("raw_psycopg2", document["implementations"]["raw_psycopg2"])
    folder = tmp_path / document["runs"][0]["folder"]
    assert "2 workers connected" in (folder / "locust.log").read_text()
    for worker in ("worker-1.log", "worker-2.log"):
        assert (folder / worker).exists()


@pytest.mark.server
def test_a_threshold_fails_the_command(server: Server, tmp_path: Path) -> None:
    """--fail-on rps=1e9 cannot be met: exit 1, and the verdict says why."""
    result = ormbench_load(
        server, tmp_path, "--impl", "raw_asyncpg", *SHORT, "--fail-on", "rps=1000000000"
    )
    assert result.returncode == 1, result.stderr
    assert "FAIL raw_asyncpg: --fail-on rps=1000000000" in result.stderr


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def wait_for_processes(harness: subprocess.Popen[str], wanted: int) -> list[psutil.Process]:
    """The harness's descendants once ``wanted`` of them run python (bounded)."""
    for _ in range(300):
        assert harness.poll() is None, harness.communicate()[1]
        found = [p for p in descendants(harness.pid) if "python" in p.name().lower()]
        if len(found) >= wanted:
            return found
        time.sleep(0.2)
    harness.kill()
    pytest.fail(f"the load run did not start its processes:\n{harness.communicate()[1]}")


def assert_loopback_only(processes: list[psutil.Process], server: Server) -> None:
    """Every socket of every process is on the loopback, but for the database server's."""
    loopback = {"127.0.0.1", "::1"}
    database = {info[4][0] for info in socket.getaddrinfo(urlsplit(server.url).hostname, None)}
    for process in processes:
        for connection in process.net_connections(kind="inet"):
            assert connection.laddr.ip in loopback, (process.cmdline(), connection)
            if connection.raddr:
                assert connection.raddr.ip in loopback | database, (process.cmdline(), connection)


def assert_all_ended(processes: list[psutil.Process]) -> None:
    alive = [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not alive, [p.cmdline() for p in alive]


@pytest.mark.server
def test_ctrl_c_stops_every_process(server: Server, tmp_path: Path) -> None:
    """SIGINT in the middle of a distributed run: uvicorn, the locust master and both workers
    end, the database is dropped, and what was measured so far is written. While it ran,
    every socket of theirs was on 127.0.0.1."""
    before = ormbench_databases(server)
    harness = subprocess.Popen(
        [ORMBENCH, "load", "--out", str(tmp_path), "--impl", "sync_sqlalchemy", "--workers", "2",
         "--users", "4", "--duration", "5m", "--seeded-users", "50", "--tasks-per-user", "5"],
        env={**os.environ, "DATABASE_URL": server.url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    started = wait_for_processes(harness, wanted=4)  # uvicorn, master, two workers
    time.sleep(2)  # under load
    assert_loopback_only(started, server)
    harness.send_signal(signal.SIGINT)
    _, stderr = harness.communicate(timeout=90)
    assert harness.returncode == 130, stderr
    assert "interrupted" in stderr
    assert_all_ended(started)
    assert ormbench_databases(server) == before
    assert json.loads((tmp_path / "comparison.json").read_text())["interrupted"] is True


@pytest.mark.server
def test_web_ui_until_ctrl_c(server: Server, tmp_path: Path) -> None:
    port = free_port()
    harness = subprocess.Popen(
        [ORMBENCH, "load", "--out", str(tmp_path), "--impl", "raw_asyncpg", "--ui",
         "--ui-port", str(port), "--seeded-users", "50", "--tasks-per-user", "5"],
        env={**os.environ, "DATABASE_URL": server.url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    started = wait_for_processes(harness, wanted=2)  # uvicorn, locust with its web UI
    for _ in range(100):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as page:
                assert page.status == 200
                assert b"locust" in page.read().lower()
                break
        except OSError:
            time.sleep(0.2)
    else:
        harness.kill()
        pytest.fail(f"no web UI on port {port}:\n{harness.communicate()[1]}")
    assert_loopback_only(started, server)
    harness.send_signal(signal.SIGINT)
    _, stderr = harness.communicate(timeout=90)
    assert harness.returncode == 0, stderr
    assert_all_ended(started)
