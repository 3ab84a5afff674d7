"""The concurrent mode: W workers drive one port at the same time for a fixed number of
operations, and what the server saw meanwhile.

A sync port is driven by W threads, as FastAPI's threadpool runs ``def`` endpoints (threads of
one process: they share the GIL). An async port is driven by W tasks on one event loop, as
uvicorn runs ``async def`` endpoints. Workers take the next operation from one shared
counter until all are taken, so a fast worker does more of them, as under real traffic.

Each operation is timed alone (wall, ``perf_counter_ns``) and counted alone (statements,
round trips, and the time it spent getting a connection: ``acquiring()`` in each
implementation's pool, contract/counting.py). A pool timeout is an outcome, counted, never
fatal; so is any other error, by its type. A round is bounded in time: once ``deadline_s``
has passed, workers take no more operations (async ones in flight are cancelled), and what
was not done is counted, so an exhausted pool never hangs the run.

``BackendSampler`` polls ``pg_stat_activity`` from a process of its own while a round runs and
keeps the peak of backends per ``application_name``: every port of the pooling family names
its connections, so each implementation's backends are told apart. (PgBouncer's server
connections carry a client's name only while linked to it: for rows through PgBouncer the
peak of all the database's backends is the one that counts, ``ALL_BACKENDS``.)
"""

import asyncio
import itertools
import multiprocessing
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from time import perf_counter_ns
from typing import Any

import psycopg2
import sqlalchemy.exc

from implementations.contract.counting import StatementCounter, counting, settle
from implementations.raw_psycopg2.database import PoolTimeout
from scenarios import Op

# What each pool raises when no connection came free in time: SQLAlchemy's QueuePool (sync
# and async), raw_psycopg2's semaphore, asyncpg's acquire (asyncio's TimeoutError is the
# builtin one since Python 3.11).
POOL_TIMEOUTS = (sqlalchemy.exc.TimeoutError, PoolTimeout, TimeoutError)
TIMEOUT = "timeout"
DEADLINE = "cancelled at the round's deadline"
NOT_RUN = "not run: the round's deadline passed"
ROUND_DEADLINE_S = 120.0
SAMPLE_EVERY_S = 0.01


@dataclass
class Round:
    """One round of W workers: per operation, and for the round as a whole."""

    workers: int
    operations: int
    wall_s: float = 0.0
    cpu_s: float = 0.0  # the client process's CPU time, every thread
    latencies: list[float] = field(default_factory=list)  # every operation, failed or not
    waits: list[float] = field(default_factory=list)  # time getting a connection, every op
    # The counters of the operations that succeeded, read once the round is over: asyncpg
    # reports a statement one loop turn late, and no worker should wait a turn for that.
    counters: list[StatementCounter] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)  # outcome -> operations
    last: dict[int, tuple[Op, Any]] = field(default_factory=dict)  # worker -> its last success

    @property
    def statements(self) -> list[int]:
        return [counter.statements for counter in self.counters]

    @property
    def round_trips(self) -> list[int]:
        return [counter.round_trips for counter in self.counters]

    @property
    def succeeded(self) -> int:
        return len(self.counters)

    @property
    def timeouts(self) -> int:
        return self.failures[TIMEOUT]

    @property
    def ops_per_s(self) -> float:
        return self.succeeded / self.wall_s if self.wall_s else 0.0

    def record(
        self, worker: int, op: Op, elapsed_ns: int, counter: StatementCounter, outcome: Any
    ) -> None:
        """Log one operation; ``outcome`` is its result, or a failure's name (``Failure``)."""
        self.latencies.append(elapsed_ns / 1e9)
        self.waits.append(counter.pool_wait_s)
        if isinstance(outcome, Failure):
            self.failures[outcome.name] += 1
            return
        self.counters.append(counter)
        self.last[worker] = (op, outcome)


@dataclass(frozen=True)
class Failure:
    name: str


def failure(exc: BaseException, cancelled_by_deadline: bool = False) -> Failure:
    if cancelled_by_deadline:
        return Failure(DEADLINE)
    if isinstance(exc, POOL_TIMEOUTS):
        return Failure(TIMEOUT)
    return Failure(type(exc).__name__)


Call = Callable[[Any, Op], Any]


def run_sync(
    port: Any, call: Call, ops: list[Op], workers: int, deadline_s: float = ROUND_DEADLINE_S
) -> Round:
    """``ops`` on a sync port by ``workers`` threads at once."""
    result = Round(workers, len(ops))
    taken = itertools.count()  # next() on it is atomic: each index goes to one worker
    go = threading.Event()
    lock = threading.Lock()  # Round.record from many threads
    stop_at = 0.0

    def work(worker: int) -> None:
        go.wait()
        while time.perf_counter() < stop_at and (index := next(taken)) < len(ops):
            op = ops[index]
            with counting() as counter:
                started = perf_counter_ns()
                try:
                    outcome = call(port, op)
                except Exception as exc:
                    outcome = failure(exc)
                elapsed = perf_counter_ns() - started
            with lock:
                result.record(worker, op, elapsed, counter, outcome)

    threads = [threading.Thread(target=work, args=(n,), daemon=True) for n in range(workers)]
    for thread in threads:
        thread.start()
    cpu, started = time.process_time(), time.perf_counter()
    stop_at = started + deadline_s
    go.set()
    for thread in threads:
        thread.join()
    result.wall_s, result.cpu_s = time.perf_counter() - started, time.process_time() - cpu
    _count_not_run(result)
    return result


async def run_async(
    port: Any, call: Call, ops: list[Op], workers: int, deadline_s: float = ROUND_DEADLINE_S
) -> Round:
    """``ops`` on an async port by ``workers`` tasks on the running event loop."""
    result = Round(workers, len(ops))
    taken = itertools.count()
    cancelled = False

    async def work(worker: int) -> None:
        while (index := next(taken)) < len(ops):
            op = ops[index]
            with counting() as counter:
                started = perf_counter_ns()
                try:
                    outcome = await call(port, op)
                except asyncio.CancelledError as exc:
                    if not cancelled:
                        raise
                    outcome = failure(exc, cancelled_by_deadline=True)
                except Exception as exc:
                    outcome = failure(exc)
                elapsed = perf_counter_ns() - started
            result.record(worker, op, elapsed, counter, outcome)
            if cancelled:
                return

    cpu, started = time.process_time(), time.perf_counter()
    tasks = [asyncio.create_task(work(n)) for n in range(workers)]
    _, pending = await asyncio.wait(tasks, timeout=deadline_s)
    if pending:
        cancelled = True
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    result.wall_s, result.cpu_s = time.perf_counter() - started, time.process_time() - cpu
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]  # the harness's own bug: surface it
    await settle()  # the statements asyncpg has yet to report land in their counters
    _count_not_run(result)
    return result


def _count_not_run(result: Round) -> None:
    done = len(result.latencies)
    if done < result.operations:
        result.failures[NOT_RUN] += result.operations - done


class BackendSampler:
    """The peak number of server backends per ``application_name`` in the run's database,
    polled every ``SAMPLE_EVERY_S`` while ``measuring()`` is active.

    The polling runs in a process of its own (``_sample``): a thread of this one would take
    the GIL from the workers every few milliseconds and slow the very rounds it watches.
    """

    def __init__(self, database_url: str, ignored_pid: int = 0) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, child = context.Pipe()
        self._process = context.Process(
            target=_sample, args=(database_url, ignored_pid, child), daemon=True
        )

    def __enter__(self) -> "BackendSampler":
        self._process.start()
        self._pipe.recv()  # connected
        return self

    def __exit__(self, *_: object) -> None:
        self._pipe.send("exit")
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()

    @contextmanager
    def measuring(self) -> Iterator[Counter[str]]:
        """Peaks seen during the block, filled in as it ends (one more sample is taken
        then, so a block shorter than the polling interval is seen too)."""
        peaks: Counter[str] = Counter()
        self._pipe.send("start")
        try:
            yield peaks
        finally:
            self._pipe.send("stop")
            peaks.update(self._pipe.recv())


ALL_BACKENDS = "*"  # the peaks' key for every backend of the database (but the ignored)


def _sample(database_url: str, ignored_pid: int, pipe: Any) -> None:
    """The sampler's process: poll while started, answer the peaks when stopped."""
    connection = psycopg2.connect(database_url, application_name="ormbench-sampler")
    connection.autocommit = True
    query = (
        "SELECT application_name, count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid NOT IN (pg_backend_pid(), %s) "
        # client backends only: an autovacuum worker on this database is not a connection
        "AND backend_type = 'client backend' "
        "GROUP BY application_name"
    )
    peaks: Counter[str] = Counter()

    def sample() -> None:
        with connection.cursor() as cursor:
            cursor.execute(query, (ignored_pid,))
            found = dict(cursor.fetchall())
        found[ALL_BACKENDS] = sum(found.values())
        for name, backends in found.items():
            peaks[name] = max(peaks[name], backends)

    pipe.send("ready")
    polling = False
    while True:
        if not polling or pipe.poll(SAMPLE_EVERY_S):
            message = pipe.recv()
            if message == "exit":
                break
            if message == "start":
                peaks.clear()
                polling = True
            elif message == "stop":
                sample()
                pipe.send(dict(peaks))
                polling = False
            continue
        sample()
    connection.close()
