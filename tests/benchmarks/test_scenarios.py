"""The scenarios as pytest-benchmark tests, for people who live in pytest.

    make pytest-bench        # = pytest tests/benchmarks --benchmark-only

Skipped by ``make test`` (see conftest.py). One test per
(scenario, variant, implementation) on the first quick params; pytest-benchmark times the
calls, and each round gets fresh inputs in ``setup`` and is undone in ``teardown``, untimed.
Async implementations are driven from these sync tests through one ``asyncio.Runner``
(pytest-benchmark cannot time inside an async test), so their timings here include one
event-loop round trip per call; ``ormbench bench`` times inside the loop and has no such
cost. Statement counts are checked as the engine checks them.
"""

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest

import scenarios
from benchmarks.redis_server import RedisServer
from benchmarks.runner import Runner
from implementations import IMPLEMENTATIONS
from implementations.contract.counting import counting

PROFILE = "quick"
ROUNDS = 20


@pytest.fixture(scope="module")
def runner(database_url: str, redis_server: RedisServer) -> Iterator[Runner]:
    with Runner(database_url, list(IMPLEMENTATIONS), PROFILE, redis_url=redis_server.url) as opened:
        yield opened


@pytest.fixture(scope="module")
def seeded(runner: Runner) -> Iterator[dict[str, Any]]:
    """The scenario whose data is in the database now (opened, for those with ``open``), and
    that data."""
    with ExitStack() as stack:
        yield {"scenario": None, "data": None, "opened": stack}


def cases() -> Iterator[Any]:
    for name in scenarios.SCENARIOS:
        if getattr(scenarios.load(name), "OWN_DATABASE", False):
            continue  # changes its schema: `ormbench bench --scenario NAME` runs it in its own
        if getattr(scenarios.load(name), "CONCURRENT", False):
            continue  # W workers at once: measured by `ormbench bench` only, not call by call
        for variant in scenarios.load(name).VARIANTS:
            for implementation in IMPLEMENTATIONS:
                yield pytest.param(
                    name, variant.name, implementation, id=f"{name}-{variant.name}-{implementation}"
                )


@pytest.mark.parametrize(("name", "variant_name", "implementation"), list(cases()))
def test_scenario(
    benchmark: Any,
    runner: Runner,
    seeded: dict[str, Any],
    name: str,
    variant_name: str,
    implementation: str,
) -> None:
    module = scenarios.load(name)
    variant = module.VARIANTS[variant_name]
    port = runner.ports[implementation]
    if not variant.applies_to(port):
        pytest.skip(f"{implementation} has no '{variant.how}' way to {variant.operation}")
    params = module.PARAMS[PROFILE][0]
    if seeded["scenario"] != name:  # tests run in scenario order: seed once per scenario
        seeded["opened"].close()  # the previous scenario's close()
        seeded["opened"].enter_context(runner.opened(module))
        runner.db.reset()
        seeded.update(scenario=name, data=module.setup(runner.db, params))
    data = seeded["data"]
    pending: list[Any] = []

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        ops = module.ops(runner.db, data, params, 1)
        pending.append(ops)
        return (ops[0],), {}

    def teardown(op: Any) -> None:
        ops = pending.pop()
        if hasattr(module, "after"):
            module.after(runner.db, data, ops)

    def call(op: Any) -> Any:
        return runner.call(implementation, variant, op)

    benchmark.pedantic(call, setup=setup, teardown=teardown, rounds=ROUNDS, warmup_rounds=1)
    # Check the last call's answer on fresh inputs (the timed ones are already undone).
    ops = module.ops(runner.db, data, params, 1)
    with counting() as counter:
        result = runner.call(implementation, variant, ops[0])
    module.verify(runner.db, variant.name, result, ops[0], data)
    benchmark.extra_info["statements"] = counter.statements
    if hasattr(module, "after"):
        module.after(runner.db, data, ops)
