"""How calls are timed: the profiles' timing parameters, and the timed loops themselves.

Every call is timed alone: wall time with ``perf_counter_ns`` and client CPU time with
``thread_time_ns`` of the calling thread (for a sync port the thread that runs the call, as
FastAPI's threadpool worker would; for an async port the event loop's thread, which does all
of the client's work), and counted alone (statements and round trips, ``counting()``). Wall
time minus CPU time is time spent waiting: on the network, and on the server, which shares
this machine's cores.

``ORMBENCH_TEST_SLOWDOWN`` is a hook for the regression check's own tests, never for
measuring: ``scenario/variant/implementation=1.5`` makes that row's calls spin for half their
warm-up median more, inside the timed region, so the check can be shown to catch a real
slowdown. The results' meta records it whenever it is set.
"""

import os
from dataclasses import dataclass, field
from time import perf_counter_ns, thread_time_ns
from typing import Any

from implementations.contract.counting import StatementCounter, counting, settle
from scenarios import Op, Variant

SLOWDOWN_VARIABLE = "ORMBENCH_TEST_SLOWDOWN"


@dataclass(frozen=True)
class Timing:
    warmup_calls: int  # untimed calls before measuring (compile caches, prepared statements)
    min_rounds: int
    max_rounds: int
    round_seconds: float  # a round of one pair lasts about this long (calls are batched)
    pair_seconds: float  # measured time per pair, spread over the rounds
    max_calls_per_round: int = 200


TIMINGS = {
    "quick": Timing(
        warmup_calls=3, min_rounds=3, max_rounds=12, round_seconds=0.015, pair_seconds=0.12
    ),
    "standard": Timing(
        warmup_calls=5, min_rounds=3, max_rounds=20, round_seconds=0.03, pair_seconds=0.35
    ),
    "full": Timing(
        warmup_calls=5, min_rounds=5, max_rounds=30, round_seconds=0.05, pair_seconds=2.0
    ),
}


@dataclass
class Timed:
    """Per call: wall time, client CPU time, statements and round trips; and every call's
    result when the scenario tallies them (``keep_results``), else none."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)
    round_trips: list[int] = field(default_factory=list)
    results: list[Any] | None = None

    def add(self, wall_ns: int, cpu_ns: int, counter: StatementCounter, result: Any) -> None:
        self.wall.append(wall_ns / 1e9)
        self.cpu.append(cpu_ns / 1e9)
        self.statements.append(counter.statements)
        self.round_trips.append(counter.round_trips)
        if self.results is not None:
            self.results.append(result)


def timed_sync(
    port: Any, variant: Variant, ops: list[Op], extra_s: float = 0.0, keep_results: bool = False
) -> tuple:
    """``(result of the last call, Timed)`` for ``ops`` called one by one on a sync port."""
    result, timed = None, Timed(results=[] if keep_results else None)
    for op in ops:
        with counting() as counter:
            cpu, started = thread_time_ns(), perf_counter_ns()
            result = variant.call(port, op)
            if extra_s:
                spin(extra_s)
            elapsed, cpu = perf_counter_ns() - started, thread_time_ns() - cpu
        timed.add(elapsed, cpu, counter, result)
    return result, timed


async def timed_async(
    port: Any, variant: Variant, ops: list[Op], extra_s: float = 0.0, keep_results: bool = False
) -> tuple:
    """The same on an async port, inside the one event loop."""
    result, timed = None, Timed(results=[] if keep_results else None)
    for op in ops:
        with counting() as counter:
            cpu, started = thread_time_ns(), perf_counter_ns()
            result = await variant.call(port, op)
            if extra_s:
                spin(extra_s)
            elapsed, cpu = perf_counter_ns() - started, thread_time_ns() - cpu
            await settle()  # asyncpg reports its last statements one loop turn late
        timed.add(elapsed, cpu, counter, result)
    return result, timed


def spin(seconds: float) -> None:
    """Busy CPU work for ``seconds``: the test hook's extra work, as a slower library's."""
    until = perf_counter_ns() + int(seconds * 1e9)
    while perf_counter_ns() < until:
        pass


def slowdowns() -> dict[tuple[str, str, str], float]:
    """``ORMBENCH_TEST_SLOWDOWN`` read as {(scenario, variant, implementation): factor}."""
    wanted: dict[tuple[str, str, str], float] = {}
    for item in filter(None, os.environ.get(SLOWDOWN_VARIABLE, "").split(",")):
        name, _, factor = item.partition("=")
        parts = tuple(name.strip().split("/"))
        if len(parts) != 3 or not factor:
            raise ValueError(
                f"{SLOWDOWN_VARIABLE}: expected scenario/variant/implementation=factor, "
                f"got {item!r}"
            )
        wanted[parts] = float(factor)  # type: ignore[index]
    return wanted
