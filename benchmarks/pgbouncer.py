"""PgBouncer in transaction mode in front of a run's database, when a binary is found.

The pooling family runs some configurations through it (``scenarios/pooling.py``): the
applications then connect to PgBouncer, which hands each transaction one of its own server
connections. PgBouncer is optional: without a binary those rows are skipped and the run says
why. Debian and Ubuntu package it (``apt-get install pgbouncer``, 1.18 on Debian 12),
Homebrew too; ``PGBOUNCER=/path/to/pgbouncer`` names any other.

PgBouncer is started on a free 127.0.0.1 port in a temp dir of its own (config, log, pid
file), as an unprivileged user when we are root (it refuses to run as root, as PostgreSQL
does), and stopped and deleted at the end. Clients are trusted (it listens on loopback only,
for the length of a run); it logs in to the server with the run's own URL.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from benchmarks.embedded import free_port, unprivileged_user

ENVIRONMENT_VARIABLE = "PGBOUNCER"
START_TIMEOUT_S = 10.0
# Where Debian puts it (/usr/sbin is not on a normal user's PATH).
KNOWN_PATHS = ("/usr/sbin/pgbouncer", "/usr/local/sbin/pgbouncer")
MISSING = (
    "no pgbouncer binary found: install it (`apt-get install pgbouncer` on Debian or Ubuntu, "
    "`brew install pgbouncer` on macOS) or set PGBOUNCER=/path/to/pgbouncer"
)


class PgBouncerError(RuntimeError):
    pass


def find_binary() -> Path | None:
    """PgBouncer's binary: ``$PGBOUNCER``, else on PATH, else where Debian installs it."""
    configured = os.environ.get(ENVIRONMENT_VARIABLE)
    if configured:
        return Path(configured) if Path(configured).is_file() else None
    found = shutil.which("pgbouncer") or next(
        (path for path in KNOWN_PATHS if os.access(path, os.X_OK)), None
    )
    return Path(found) if found else None


class PgBouncer:
    """``with PgBouncer(url, pool_size) as bouncer: bouncer.url`` — PgBouncer in transaction
    mode in front of ``url``'s database, keeping at most ``pool_size`` server connections."""

    def __init__(self, database_url: str, pool_size: int, binary: Path | None = None) -> None:
        self.binary = binary or find_binary()
        if self.binary is None:
            raise PgBouncerError(MISSING)
        self.target = urlsplit(database_url)
        self.pool_size = pool_size
        self.port: int | None = None
        self.root: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``database_url`` with PgBouncer's address in place of the server's."""
        user = self.target.username or "postgres"
        password = f":{self.target.password}" if self.target.password else ""
        netloc = f"{user}{password}@127.0.0.1:{self.port}"
        return urlunsplit(self.target._replace(scheme="postgresql", netloc=netloc))

    @property
    def log_file(self) -> Path:
        assert self.root is not None
        return self.root / "pgbouncer.log"

    def start(self) -> "PgBouncer":
        self.root = Path(tempfile.mkdtemp(prefix="ormbench-pgbouncer-"))
        ids = unprivileged_user()
        if ids is not None:
            os.chown(self.root, *ids)
        config = self._write_config()
        for attempt in range(3):
            self.port = free_port()  # another process may take it first: try another
            config.write_text(self._config_text())
            self.process = subprocess.Popen(
                [str(self.binary), str(config)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                user=ids[0] if ids else None,
                group=ids[1] if ids else None,
            )
            if self._wait_until_listening():
                return self
            self._terminate()
            if attempt == 2:
                log = self.log_file.read_text(errors="replace")[-1500:] if self.root else ""
                self.stop()
                raise PgBouncerError(f"pgbouncer did not start:\n{log}")
        raise AssertionError("unreachable")

    def _write_config(self) -> Path:
        assert self.root is not None
        users = self.root / "users.txt"
        user = unquote(self.target.username or "postgres")
        users.write_text(f'"{user}" ""\n')
        return self.root / "pgbouncer.ini"

    def _config_text(self) -> str:
        assert self.root is not None
        target = self.target
        database = target.path.lstrip("/")
        server = f"host={target.hostname or '127.0.0.1'} port={target.port or 5432}"
        server += f" dbname={database}"
        if target.password:
            server += f" password={unquote(target.password)}"
        return "\n".join(
            [
                "[databases]",
                f"{database} = {server}",
                "[pgbouncer]",
                "listen_addr = 127.0.0.1",
                f"listen_port = {self.port}",
                "unix_socket_dir =",
                f"logfile = {self.root / 'pgbouncer.log'}",
                f"pidfile = {self.root / 'pgbouncer.pid'}",
                "auth_type = trust",
                f"auth_file = {self.root / 'users.txt'}",
                "pool_mode = transaction",
                f"default_pool_size = {self.pool_size}",
                "min_pool_size = 0",
                "reserve_pool_size = 0",
                "max_client_conn = 500",
                # psycopg2 and asyncpg send nothing else PgBouncer does not know by itself
                "ignore_startup_parameters = extra_float_digits",
                "",
            ]
        )

    def _wait_until_listening(self) -> bool:
        assert self.process is not None
        assert self.port is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return True
            except OSError:
                time.sleep(0.02)
        return False

    def _terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: PgBouncer's immediate shutdown
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None

    def stop(self) -> None:
        self._terminate()
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> "PgBouncer":
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
