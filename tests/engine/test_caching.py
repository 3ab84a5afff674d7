"""The caching scenario, call by call, on every implementation, against a real PostgreSQL and
a real Redis (an embedded one, and the machine's when one answers; see ``each_redis``).

What is asserted is deterministic: which answers are right, stale or wrong, and how many
statements a call sent (a hit sends none). Never a time.
"""

from collections.abc import Iterator
from typing import Any

import pytest

import scenarios
from benchmarks.redis_server import RedisServer
from benchmarks.runner import Runner
from implementations import IMPLEMENTATIONS
from implementations.contract.counting import counting
from scenarios import Op, WrongResult

caching = scenarios.load("caching")
PARAMS = caching.PARAMS["quick"][0]


@pytest.fixture(scope="module")
def bench(database_url: str, each_redis: RedisServer) -> Iterator[tuple[Runner, dict[str, Any]]]:
    with (
        Runner(database_url, list(IMPLEMENTATIONS), "quick", redis_url=each_redis.url) as run,
        run.opened(caching),
    ):
        run.db.reset()
        yield run, caching.setup(run.db, PARAMS)


def call(run: Runner, implementation: str, variant: str, ops: list[Op]) -> tuple[list, list]:
    """Every op through the variant, one by one: the results and the statements of each."""
    results, statements = [], []
    for op in ops:
        with counting() as counter:
            results.append(run.call(implementation, caching.VARIANTS[variant], op))
        statements.append(counter.statements)
    return results, statements


def tally(variant: str, ops: list[Op], results: list, statements: list) -> dict[str, int]:
    return caching.tally(variant, ops, results, statements)


def around_a_write(data: dict[str, Any], reader: str = "a", writer: str = "a") -> list[Op]:
    """Read a hot user's stats, move one of their tasks to another user, read them again,
    move it back (the data is as seeded again afterwards)."""
    workload = data["workload"]
    first, second, task = hot_pair(data)
    return [
        workload.read("stats", first, reader),
        workload.write(task, first, second, writer),
        workload.read("stats", first, reader),
        workload.write(task, second, first, writer),
    ]


def hot_pair(data: dict[str, Any]) -> tuple[int, int, int]:
    """Two hot users with different stats, and a task the first one owns."""
    workload = data["workload"]
    first = workload.hot[0]
    second = next(
        u
        for u in workload.hot[1:]
        if workload.base[("stats", u)] != workload.base[("stats", first)]
    )
    task = min(workload.model.owned[first])
    return first, second, task


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_the_seed_decorator_is_caught_giving_wrong_answers(
    bench: tuple[Runner, dict[str, Any]], implementation: str
) -> None:
    run, data = bench
    workload = data["workload"]
    ops = [workload.read("stats", user) for user in workload.hot]
    results, statements = call(run, implementation, "seed_decorator", ops)
    counts = tally("seed_decorator", ops, results, statements)
    # One cached answer for every user: all but the users whose stats happen to be equal.
    assert counts["wrong_answers"] >= len(ops) // 2, counts
    assert counts["hits"] == len(ops)  # and every one of them "fast": no statement
    # A variant that must be right fails the run on the same answers.
    with pytest.raises(WrongResult, match="wrong answer"):
        caching.tally("in_process", ops, results, statements)


@pytest.mark.parametrize("variant", ["in_process", "redis", "two_workers_redis"])
@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_invalidating_caches_never_serve_a_stale_or_wrong_answer(
    bench: tuple[Runner, dict[str, Any]], implementation: str, variant: str
) -> None:
    run, data = bench
    ops = data["workload"].batch(120)
    writes = sum(op["kind"] == "write" for op in ops)
    assert writes >= 2  # the batch changes data its reads then see
    results, statements = call(run, implementation, variant, ops)
    counts = tally(variant, ops, results, statements)  # raises on any stale or wrong answer
    assert (counts["stale_reads"], counts["wrong_answers"]) == (0, 0)
    assert counts["hits"] > counts["reads"] // 2
    assert counts["reads"] == len(ops) - writes


@pytest.mark.parametrize("variant", ["in_process", "redis"])
@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_a_hit_sends_no_statement_and_a_write_makes_the_next_read_miss(
    bench: tuple[Runner, dict[str, Any]], implementation: str, variant: str
) -> None:
    run, data = bench
    workload = data["workload"]
    first, second, task = hot_pair(data)
    ops = [
        workload.read("stats", first),
        workload.read("stats", first),
        workload.write(task, first, second),
        workload.read("stats", first),
        workload.read("stats", second),
        workload.write(task, second, first),
    ]
    results, statements = call(run, implementation, variant, ops)
    # A hit; then both users' entries were invalidated by the write.
    assert statements == [statements[0], 0, statements[2], 1, 1, statements[5]]
    assert tally(variant, ops, results, statements)["stale_reads"] == 0


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_ttl_only_serves_the_old_stats_after_a_write(
    bench: tuple[Runner, dict[str, Any]], implementation: str
) -> None:
    run, data = bench
    ops = around_a_write(data)
    results, statements = call(run, implementation, "ttl_only", ops)
    assert statements[2] == 0  # a hit, on the entry from before the write
    assert tally("ttl_only", ops, results, statements)["stale_reads"] == 1


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_two_processes_with_in_process_caches_serve_stale_stats_and_with_redis_do_not(
    bench: tuple[Runner, dict[str, Any]], implementation: str
) -> None:
    run, data = bench
    stale = {}
    for variant in ("two_workers_in_process", "two_workers_redis"):
        # The second process reads (and caches), the first one writes.
        ops = around_a_write(data, reader="b", writer="a")
        results, statements = call(run, implementation, variant, ops)
        stale[variant] = tally(variant, ops, results, statements)["stale_reads"]
        if variant == "two_workers_redis":
            assert statements[2] == 1  # the write's invalidation reached the other process
    assert stale == {"two_workers_in_process": 1, "two_workers_redis": 0}


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_a_single_flight_guard_sends_one_statement_per_stampede(
    bench: tuple[Runner, dict[str, Any]], implementation: str
) -> None:
    run, data = bench
    ops = [data["workload"].read("stats", user) for user in data["workload"].hot[:3]]
    readers = PARAMS["readers"]
    unguarded = call(run, implementation, "stampede_unguarded", ops)
    guarded = call(run, implementation, "stampede_single_flight", ops)
    assert guarded[1] == [1, 1, 1]
    if IMPLEMENTATIONS[implementation][1] == "async":
        # Tasks: each looks the entry up before any query comes back, so every one misses.
        assert unguarded[1] == [readers] * len(ops)
    else:
        # Threads: how many look up before the first load has stored is the scheduler's
        # call (the rows show 9 or 10 of 10); at least the first one queries.
        assert all(1 <= sent <= readers for sent in unguarded[1]), unguarded[1]
    for variant, (results, statements) in zip(STAMPEDES, (unguarded, guarded), strict=True):
        counts = tally(variant, ops, results, statements)
        assert counts["reads"] == readers * len(ops)
        assert counts["wrong_answers"] == 0


STAMPEDES = ("stampede_unguarded", "stampede_single_flight")
