"""Every variant's result check can fail: a fast wrong answer must not pass.

Each variant is called once on the quick data (on the first implementation it applies to),
its real result must pass ``verify``, and every corrupted copy of it must fail.
"""

from collections.abc import Iterator
from typing import Any

import pytest

import scenarios
from benchmarks.redis_server import RedisServer
from benchmarks.runner import Runner
from implementations import IMPLEMENTATIONS
from scenarios import shapes


@pytest.fixture(scope="module")
def runner(database_url: str, redis_server: RedisServer) -> Iterator[Runner]:
    with Runner(database_url, list(IMPLEMENTATIONS), "quick", redis_url=redis_server.url) as opened:
        yield opened


def corruptions(scenario: str, variant: str, result: Any) -> list[Any]:
    """Wrong answers shaped like ``result``: each must be refused."""
    if scenario == "pooling":  # its workloads read as crud's get and eager_loading's page do
        return corruptions("crud" if variant.startswith("get") else "eager_loading", "", result)
    if scenario == "crud":
        if variant.startswith("list"):
            rows = [shapes.user(row) for row in result]
            return [rows[:-1], rows[1:] + rows[:1]]
        if variant == "delete":
            return [1]
        user = shapes.user(result)
        return [
            {**user, "id": user["id"] + 1},
            {**user, "username": "someone else"},
            {**user, "email": "wrong@example.com"},
            {**user, "is_active": not user["is_active"]},
        ]
    if scenario == "eager_loading":
        users = [shapes.user_with_tasks(u) for u in result]
        fewer_tasks = [{**users[0], "tasks": users[0]["tasks"][:-1]}, *users[1:]]
        foreign = [
            {**users[0], "tasks": [*users[0]["tasks"][:-1], users[1]["tasks"][0]]},
            *users[1:],
        ]
        return [users[:-1], fewer_tasks, foreign]
    if scenario in ("bulk_insert", "bulk_update"):
        return [result + 1, result - 1]
    if scenario == "filter_sort":
        rows = [shapes.task(row) for row in result]
        return [rows[:-1], list(reversed(rows)), [{**rows[0], "priority": -1}, *rows[1:]]]
    if scenario == "aggregation":
        stats = shapes.plain(result, ("total", "completed", "pending", "avg_priority"))
        return [
            {**stats, "total": stats["total"] + 1},
            {**stats, "pending": -1},
            {**stats, "avg_priority": stats["avg_priority"] + 0.5},
            {**stats, "completed": stats["completed"] + 1},
        ]
    if scenario == "caching":
        if variant.startswith("stampede"):  # every reader's answer is checked
            return [[*result[:-1], result[0].model_copy(update={"total": -1})]]
        stats = shapes.plain(result, ("total", "completed", "pending", "avg_priority"))
        return [
            {**stats, "total": stats["total"] + 1},
            {**stats, "completed": stats["completed"] + 1},
            {**stats, "avg_priority": stats["avg_priority"] + 0.5},
        ]
    if scenario == "transactions":
        task = shapes.task(result)
        return [
            {**task, "user_id": task["user_id"] + 1000},
            {**task, "id": task["id"] + 1},
            {**task, "title": "not the kept one"},
        ]
    raise AssertionError(f"no corruptions for {scenario}")


# A scenario with a database of its own changes its schema: checked in its own test module
# (the indexing scenario's: test_indexing.py), never on this shared database.
SHARED = [n for n in scenarios.SCENARIOS if not getattr(scenarios.load(n), "OWN_DATABASE", False)]


@pytest.mark.parametrize("name", SHARED)
def test_every_variant_check_rejects_a_wrong_result(runner: Runner, name: str) -> None:
    module = scenarios.load(name)
    params = module.PARAMS["quick"][0]
    with runner.opened(module):
        runner.db.reset()
        check_variants(runner, name, module, params, module.setup(runner.db, params))


def check_variants(runner: Runner, name: str, module: Any, params: dict, data: dict) -> None:
    # Variants that exist to show a mistake (caching's seed decorator, ...) count their wrong
    # answers instead of failing the run: their corruptions must be counted, not raised.
    counted = getattr(module, "SHOWS_A_MISTAKE", frozenset())
    for variant in module.VARIANTS:
        implementation = next(n for n, p in runner.ports.items() if variant.applies_to(p))
        ops = module.ops(runner.db, data, params, 1)
        result = runner.call(implementation, variant, ops[0])
        if variant.name in counted:
            for wrong in corruptions(name, variant.name, result):
                outcomes = module.tally(variant.name, ops, [wrong], [0])
                assert outcomes["stale_reads"] + outcomes["wrong_answers"] == 1, variant.name
            continue
        module.verify(runner.db, variant.name, result, ops[0], data)  # the real one passes
        for wrong in corruptions(name, variant.name, result):
            with pytest.raises(scenarios.WrongResult):
                module.verify(runner.db, variant.name, wrong, ops[0], data)
        if name == "bulk_insert":  # the rows themselves are read back, not only the count
            runner.db.execute("DELETE FROM tasks WHERE id = (SELECT max(id) FROM tasks)")
            with pytest.raises(scenarios.WrongResult):
                module.verify(runner.db, variant.name, result, ops[0], data)
        if hasattr(module, "after"):
            module.after(runner.db, data, ops)
