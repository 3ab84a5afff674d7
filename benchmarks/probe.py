"""How busy the machine is, measured by a fixed piece of work that no code under test runs.

Before each params set of a single-call scenario, the runner measures two things on the
harness's own connection and thread: a round trip to the server (``SELECT 1``, the mean of
100) and the share of the CPU this thread gets while it spins for 30 ms. Neither depends on
an implementation, so a run whose probe reads slower than the baseline's was made on a
busier machine, not on
slower code: the regression check then declines to judge time (``benchmarks/check.py``),
and says so, rather than blame a row for the machine.
"""

import statistics
from time import perf_counter_ns, thread_time_ns
from typing import Any

ROUND_TRIPS = 100
LOOP_SECONDS = 0.03


def measure(db: Any) -> dict[str, float]:
    """``{"round_trip_s", "cpu_share"}`` on the harness's connection ``db`` and thread: the
    mean time of a ``SELECT 1`` round trip (a mean, so the scheduler's delays count), and the
    share of wall time this thread got on the CPU while it spun for ``LOOP_SECONDS`` (1.0:
    nothing else wanted the core)."""
    with db.connection.cursor() as cursor:
        started = perf_counter_ns()
        for _ in range(ROUND_TRIPS):
            cursor.execute("SELECT 1")
            cursor.fetchone()
        round_trip = (perf_counter_ns() - started) / ROUND_TRIPS / 1e9
    cpu, wall = thread_time_ns(), perf_counter_ns()
    until = wall + int(LOOP_SECONDS * 1e9)
    while perf_counter_ns() < until:
        pass
    share = (thread_time_ns() - cpu) / (perf_counter_ns() - wall)
    return {"round_trip_s": round_trip, "cpu_share": min(share, 1.0)}


def summary(probes: list[dict[str, float]]) -> dict[str, float]:
    """The run's probe: the median of each figure over its params sets."""
    if not probes:
        return {}
    return {key: statistics.median(p[key] for p in probes) for key in probes[0]}
