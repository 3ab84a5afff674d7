"""The processes of a load run: each in its own process group, each stopped with its group.

A child started here gets a new session (``start_new_session``), so a Ctrl-C at the terminal
reaches the harness alone, and the harness stops the children in order: locust first (it
writes its reports on SIGTERM), then the servers, then the database. Stopping a group stops
whatever the child started too: uvicorn's worker processes, locust's workers. A child that
ignores SIGTERM is killed after a bounded wait.
"""

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import psutil

STOP_TIMEOUT_S = 20.0  # SIGTERM, then this long, then SIGKILL


class ProcessError(RuntimeError):
    """A child did not come up or ended badly; the message quotes its log."""


@dataclass
class Child:
    """One started process (the leader of its own process group) and its log file."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    started: float = field(default_factory=time.monotonic)

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 25) -> str:
        try:
            text = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])

    def tree(self) -> list[psutil.Process]:
        """The child and every process it started (empty once all have ended)."""
        try:
            leader = psutil.Process(self.pid)
            return [leader, *leader.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def cpu_seconds(self) -> float:
        """User and system CPU of the child and its descendants, as of now."""
        total = 0.0
        for process in self.tree():
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    def wait(self, timeout: float) -> int:
        """The exit code, or ProcessError if it is still running after ``timeout`` s."""
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise ProcessError(
                f"{self.name} still running after {timeout:.0f} s:\n{self.log_tail()}"
            ) from None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT_S) -> int | None:
        """Signal the whole group, wait, then kill what is left of it. Returns the exit code
        of the leader (None if it had to be killed)."""
        _signal_group(self.pid, sig)
        try:
            code: int | None = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            code = None
        # The leader may be gone while its group lives on (a uvicorn worker, a locust worker).
        _signal_group(self.pid, signal.SIGKILL)
        if code is None:
            self.process.wait(5)
        return code


def _signal_group(pgid: int, sig: int) -> None:
    with suppress(ProcessLookupError, PermissionError):  # the group has ended
        os.killpg(pgid, sig)


def start(name: str, argv: Sequence[str], log: Path, env: dict[str, str] | None = None) -> Child:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as output:
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # its own group: Ctrl-C reaches the harness only
        )
    return Child(name, process, log)


@contextmanager
def started(
    name: str, argv: Sequence[str], log: Path, env: dict[str, str] | None = None
) -> Iterator[Child]:
    """A child for the duration of the block; stopped with its group on the way out, however
    the block ends (an error, Ctrl-C)."""
    child = start(name, argv, log, env)
    try:
        yield child
    finally:
        with uninterrupted():
            child.stop()


def wait_for_http(child: Child, url: str, timeout: float = 60.0) -> bytes:
    """Poll ``url`` until it answers 200 (bounded), or raise with the child's log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.running():
            raise ProcessError(
                f"{child.name} exited with code {child.process.returncode}:\n{child.log_tail()}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return response.read()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise ProcessError(f"{child.name} did not answer {url} in {timeout:.0f} s:\n{child.log_tail()}")


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """A SIGTERM to the harness unwinds like Ctrl-C, so its children are stopped as well."""

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def uninterrupted() -> Iterator[None]:
    """Hold off a second Ctrl-C while children are being stopped: every stop is bounded, and
    an interrupted cleanup is what leaves processes behind."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
