"""The second process of the caching scenario's two-workers variants.

It opens the same implementations on the same database (its own small pools) and, for each
two-workers variant, the same client as the first process: with its own in-process cache,
or with the Redis entries the first process uses too (same key prefix). The first process
sends it calls over a pipe, as a load balancer would send requests to a second worker, and
gets back the answer as plain data with the statements and round trips it cost.
"""

import asyncio
import contextlib
import contextvars
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from implementations.contract.counting import counting, settle
from scenarios import Op, shapes
from scenarios.cache_clients import AsyncClient, Config, SyncClient, Way

START_SECONDS = 120.0  # imports and pools of five implementations, on a busy machine
WORKER_POOL_SIZE = 2  # its calls come one at a time


@dataclass(frozen=True)
class Spec:
    settings: dict[str, Any]  # Settings fields
    implementations: list[str]
    clients: dict[tuple[str, str], tuple[Way, str]]  # (variant, implementation) -> way, prefix
    config: Config


class Worker:
    """``start()`` the process, ``call(variant, implementation, op)``, ``stop()``.

    A plain subprocess (``python -m scenarios.cache_worker FD``) talking over a socket pair,
    rather than ``multiprocessing``: its spawn start re-imports the caller's main module, which
    a script or notebook driving the runner does not expect."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.connection: Any = None
        self.process: subprocess.Popen[bytes] | None = None
        self.log = tempfile.TemporaryFile()  # noqa: SIM115  (lives as long as the worker)

    def start(self) -> "Worker":
        ours, theirs = socket.socketpair()
        with theirs:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "scenarios.cache_worker", str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=self.log,
                stderr=subprocess.STDOUT,
            )
        self.connection = Connection(ours.detach())
        self.connection.send(self.spec)
        if not self.connection.poll(START_SECONDS):
            self.stop()
            raise RuntimeError(f"the second caching worker did not start in {START_SECONDS} s")
        try:
            status, detail = self.connection.recv()
        except EOFError:
            status, detail = "failed", self._log_tail()
        if status != "ready":
            self.stop()
            raise RuntimeError(f"the second caching worker failed to start: {detail}")
        return self

    def _log_tail(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-2000:]

    def call(self, variant: str, implementation: str, op: Op) -> tuple[Any, int, int]:
        """The answer, and the statements and round trips it cost over there."""
        wire = {k: v for k, v in op.items() if k not in ("seen", "expected", "base_stats")}
        self.connection.send((variant, implementation, wire))
        status, answer = self.connection.recv()
        if status != "ok":
            raise RuntimeError(f"the second worker failed {variant} on {implementation}: {answer}")
        return answer  # type: ignore[no-any-return]

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(OSError):
            self.connection.send(None)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.connection.close()
        self.log.close()
        self.process = None


def plain(result: Any) -> Any:
    """An answer as data a pipe carries: the schema objects dumped, a task as its fields."""
    if isinstance(result, list):
        return [plain(item) for item in result]
    if hasattr(result, "model_dump"):
        return result.model_dump()
    return shapes.task(result)


def serve(connection: Any) -> None:
    from implementations import IMPLEMENTATIONS, create_port
    from implementations.contract.settings import Settings

    spec: Spec = connection.recv()
    loop = asyncio.Runner()
    ports: dict[str, Any] = {}
    clients: dict[tuple[str, str], Any] = {}
    try:
        settings = Settings(**{**spec.settings, "pool_size": WORKER_POOL_SIZE})
        for name in spec.implementations:
            port = ports[name] = create_port(name, settings)
            if IMPLEMENTATIONS[name][1] == "async":
                loop.run(port.open())
            else:
                port.open()
        for (variant, name), (way, prefix) in spec.clients.items():
            kind = AsyncClient if ports[name].mode == "async" else SyncClient
            clients[(variant, name)] = kind(ports[name], way, spec.config, prefix)
        connection.send(("ready", None))
    except Exception as exc:
        connection.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    try:
        while (message := connection.recv()) is not None:
            variant, name, op = message
            client = clients[(variant, name)]
            try:
                with counting() as counter:
                    if ports[name].mode == "async":
                        # In this context: asyncio.Runner runs a coroutine in its own context
                        # otherwise, where the counter opened here is not seen.
                        context = contextvars.copy_context()
                        answer = loop.run(_call_and_settle(client, op), context=context)
                    else:
                        answer = client.do(op)
                connection.send(("ok", (plain(answer), counter.statements, counter.round_trips)))
            except Exception as exc:
                connection.send(("error", f"{type(exc).__name__}: {exc}"))
    except EOFError:
        pass  # the first process went away
    finally:
        for (_, name), client in clients.items():
            if ports[name].mode == "async":
                loop.run(client.close())
            else:
                client.close()
        for port in ports.values():
            if port.mode == "async":
                loop.run(port.close())
            else:
                port.close()
        loop.close()


async def _call_and_settle(client: AsyncClient, op: Op) -> Any:
    answer = await client.do(op)
    await settle()  # asyncpg counts its last statement one loop turn late
    return answer


if __name__ == "__main__":
    serve(Connection(int(sys.argv[1])))
