"""The runner: scenarios x implementations, warmed up, calibrated, interleaved, verified.

For each scenario and each of its params: reset the database and seed it, then for every
(variant, implementation) pair that applies — a *pair* — warm up (those calls are verified
too, and the last one runs under tracemalloc for the memory figure), calibrate how many
calls make a round, and run rounds with the pairs interleaved (A B C A B C ..., the order
rotating each round) so that drift of this shared machine falls on every pair alike. Each
call is timed alone with ``perf_counter_ns`` (wall) and ``thread_time_ns`` (client CPU) and
counted alone (statements, round trips, pool checkouts);
the inputs are prepared before and the undoing done after, untimed. The last call of every
round is verified: a fast wrong answer fails the run.

Sync ports are called directly; async ports run on one long-lived event loop
(``asyncio.Runner``), the whole round inside it — never ``asyncio.run`` per call.

Two things a scenario module may ask for: ``OWN_DATABASE = True`` runs it in a fresh database
of its own on the same server, with ports of its own (its setup may change the schema, as
the indexing scenario's does, and no other scenario sees it); and ``explain(db, variant,
driver, sent, op, data)`` is handed, once per pair before the warm-up, the statements one
untimed call sent (``counting(capture=True)``), and returns their plans for the row's
``plans``. ``describe_setup(data)`` adds what setup built and measured as the rows' ``setup``.
"""

import asyncio
import contextvars
import gc
import statistics
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import scenarios
from benchmarks import metrics, probe
from benchmarks.concurrent_family import Family
from benchmarks.database import Server, fresh_database
from benchmarks.timing import TIMINGS, Timing, slowdowns, timed_async, timed_sync
from implementations import IMPLEMENTATIONS, create_port
from implementations.contract.counting import counting, settle
from implementations.contract.settings import Settings
from scenarios import Context, Op, Variant, shapes
from scenarios.port import WHY_NOT
from scenarios.seed import Database

FLOORS = {"sync": "raw_psycopg2", "async": "raw_asyncpg"}
SAMPLES_KEPT = 400  # per row in results.json; statistics use every sample
SLOW_CALL_SECONDS = 1.0  # a first call this long counts as the first round (see _warm_up)


def benchmark_settings(database_url: str, redis_url: str | None = None) -> Settings:
    # Argon2id at its minimum cost: create-user measures the database, not the KDF (the
    # report says so). Pool size and everything else as the apps have them. No API cache:
    # the caching scenario builds the caches it compares itself.
    return Settings(
        database_url=database_url,
        password_hash_time_cost=1,
        password_hash_memory_kib=8,
        cache="none",
        redis_url=redis_url,
    )


def with_floors(implementations: Sequence[str]) -> list[str]:
    """The implementations asked for, plus the floors their ratios divide by."""
    chosen = list(implementations)
    for name in list(chosen):
        floor = FLOORS[IMPLEMENTATIONS[name][1]]
        if floor not in chosen:
            chosen.append(floor)
    return [name for name in IMPLEMENTATIONS if name in chosen]  # registry order


@dataclass
class Pair:
    scenario: str
    variant: Variant
    implementation: str
    port: Any
    extra_s: float = 0.0  # the test hook's spin per call (timing.py), normally none
    calls_per_round: int = 1
    rounds: int = 0
    samples: list[float] = field(default_factory=list)
    round_medians: list[float] = field(default_factory=list)
    cpu_samples: list[float] = field(default_factory=list)
    cpu_round_medians: list[float] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)
    round_trips: list[int] = field(default_factory=list)
    rows: list[float] = field(default_factory=list)
    checkouts: int = 0
    connects: int = 0
    peak_memory: int | None = None
    work: tuple[str, list[int]] = ("nothing", [])  # what a call returned (shapes.describe)
    plans: list[dict[str, Any]] | None = None  # the scenario's explain() of one call
    setup: dict[str, Any] | None = None  # the scenario's describe_setup()
    outcomes: Counter[str] = field(default_factory=Counter)  # the scenario's tally, if any
    hit_samples: list[float] = field(default_factory=list)  # tallied calls that sent nothing

    @property
    def rounds_left(self) -> int:
        return self.rounds - len(self.round_medians)

    def discard_measurements(self) -> None:
        self.samples.clear()
        self.round_medians.clear()
        self.cpu_samples.clear()
        self.cpu_round_medians.clear()
        self.statements.clear()
        self.round_trips.clear()
        self.rows.clear()
        self.outcomes.clear()
        self.hit_samples.clear()
        self.checkouts = self.connects = 0


Progress = Callable[[str, int, int], None]  # (description, done, total)


class Runner:
    def __init__(
        self,
        database_url: str,
        implementations: Sequence[str],
        profile: str,
        progress: Progress | None = None,
        timing: Timing | None = None,
        own_database: bool = False,
        redis_url: str | None = None,
    ) -> None:
        self.settings = benchmark_settings(database_url, redis_url)
        self.redis_url = redis_url
        self.own_database = own_database  # made for the scenarios run here: they may alter it
        self.implementations = with_floors(implementations)
        self.timing = timing or TIMINGS[profile]
        self.profile = profile
        self.progress = progress or (lambda *_: None)
        self.db = Database(database_url, own=own_database)
        self.loop = asyncio.Runner()
        self.ports: dict[str, Any] = {}
        self.not_applicable: list[dict[str, str]] = []
        self.probes: list[dict[str, float]] = []  # benchmarks/probe.py, one per params set
        self.slowdowns = slowdowns()  # the regression check's test hook; normally empty
        self.slowdowns_text = ", ".join(f"{'/'.join(k)}={v:g}" for k, v in self.slowdowns.items())

    # --- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> "Runner":
        self._open_ports()
        # Everything alive now (modules, ports, their pools) moves to the permanent
        # generation: a full collection during a measured call then walks only what the
        # run made since, the same however much was imported or opened before.
        gc.collect()
        gc.freeze()
        return self

    def __exit__(self, *_: object) -> None:
        gc.unfreeze()  # back where a collection can reach them, once this run is over
        self._close_ports()
        self.loop.close()
        self.db.close()

    def _open_ports(self) -> None:
        for name in self.implementations:
            port = create_port(name, self.settings)
            self._await_if_async(port, port.open())
            self.ports[name] = port

    def _close_ports(self) -> None:
        for port in self.ports.values():
            self._await_if_async(port, port.close())
        self.ports.clear()

    @contextmanager
    def ports_released(self) -> Iterator[None]:
        """Every port closed for the block and opened anew after it: a family that builds
        pools of its own (pooling) has the server's connections to itself meanwhile."""
        self._close_ports()
        try:
            yield
        finally:
            self._open_ports()

    def call(self, implementation: str, variant: Variant, op: Op) -> Any:
        """One call outside the timed loop, for tests and notebooks that want a result (and,
        inside ``counting()``, its statements)."""
        port = self.ports[implementation]
        if port.mode == "sync":
            return variant.call(port, op)

        async def call_and_settle() -> Any:
            result = await variant.call(port, op)
            await settle()
            return result

        # In this thread's current context, so that a counter the caller opened sees the
        # statements (asyncio.Runner would otherwise run it in the context it was made in).
        return self.loop.run(call_and_settle(), context=contextvars.copy_context())

    def _await_if_async(self, port: Any, value: Any) -> Any:
        return self.loop.run(value) if port.mode == "async" else value

    # --- the run -------------------------------------------------------------------------

    def run(self, scenario_names: Sequence[str]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for name in scenario_names:
            module = scenarios.load(name)
            if getattr(module, "CONCURRENT", False):  # W workers at once: concurrent_family.py
                rows.extend(Family(self, name, module).run())
                continue
            if self._needs_own_database(module):
                rows.extend(self._in_own_database(lambda own, name=name: own.run([name])))
                continue
            self._record_not_applicable(name, module)
            with self.opened(module):
                for params in module.PARAMS[self.profile]:
                    rows.extend(self._run_params(name, module, params))
        add_floor_ratios(rows, {name: scenarios.load(name).FLOOR for name in scenario_names})
        return rows

    def _needs_own_database(self, module: ModuleType) -> bool:
        return getattr(module, "OWN_DATABASE", False) and not self.own_database

    def _in_own_database(self, work: Callable[["Runner"], list[dict]]) -> list[dict[str, Any]]:
        """``work`` done by a runner on a fresh database of its own on this run's server
        (made by the same migrations, dropped afterwards), with ports opened on it."""
        server = Server(self.settings.url_for("libpq"), "external")  # CREATE DATABASE from here
        with (
            fresh_database(server) as url,
            Runner(
                url,
                self.implementations,
                self.profile,
                self.progress,
                self.timing,
                own_database=True,
                redis_url=self.redis_url,
            ) as own,
        ):
            rows = work(own)
            self.not_applicable.extend(own.not_applicable)
            self.probes.extend(own.probes)
        return rows

    def _record_not_applicable(self, name: str, module: ModuleType) -> None:
        for variant in module.VARIANTS:
            for implementation, port in self.ports.items():
                if not variant.applies_to(port):
                    self.not_applicable.append(
                        {
                            "scenario": name,
                            "variant": variant.name,
                            "label": variant.label,
                            "implementation": implementation,
                            "reason": WHY_NOT.get(
                                variant.how,
                                f"{implementation} has no "
                                f"'{variant.how}' way to {variant.operation}",
                            ),
                        }
                    )

    def rerun(self, scenario: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """One scenario with one params set, run again as in a full run (every pair, the
        same interleaving), floor ratios included: the regression check's confirmation of
        a row that looked slower. Measuring a row alone with its floor would not do: with
        nothing interleaved, Python code stays warm in the CPU's caches and an ORM's ratio
        reads 10-20% lower than it does in a run."""
        module = scenarios.load(scenario)
        if getattr(module, "CONCURRENT", False):
            return Family(self, scenario, module).run([params])
        if self._needs_own_database(module):
            return self._in_own_database(lambda own: own.rerun(scenario, params))
        with self.opened(module):
            rows = self._run_params(scenario, module, params)
        add_floor_ratios(rows, {scenario: module.FLOOR})
        return rows

    @contextmanager
    def opened(self, module: ModuleType) -> Iterator[None]:
        """The scenario's ``open(context)`` before and ``close(context)`` after, if it has
        them (what it needs besides the database: caching's Redis clients, a second
        process)."""
        if not hasattr(module, "open"):
            yield
            return
        context = Context(self.settings, dict(self.ports), self.loop.run)
        module.open(context)
        try:
            yield
        finally:
            module.close(context)

    def _run_params(self, name: str, module: ModuleType, params: dict[str, Any]) -> list[dict]:
        pairs = [
            Pair(name, variant, implementation, port)
            for variant in module.VARIANTS
            for implementation, port in self.ports.items()
            if variant.applies_to(port)
        ]
        self.db.reset()
        data = module.setup(self.db, params)
        self.probes.append(probe.measure(self.db))  # how busy the machine is, right now
        description = f"{name} {params}"
        facts = module.describe_setup(data) if hasattr(module, "describe_setup") else None
        for done, pair in enumerate(pairs):
            pair.setup = facts
            if hasattr(module, "explain"):  # before the warm-up: the database as seeded
                self.progress(f"{description}: explaining", done, len(pairs))
                pair.plans = self._explain(module, params, data, pair)
        for done, pair in enumerate(pairs):
            self.progress(f"{description}: warming up", done, len(pairs))
            self._warm_up(module, params, data, pair)
        to_run = [pair.rounds_left for pair in pairs]  # fixed here: rounds_left shrinks
        total = sum(to_run)
        done = 0
        for round_number in range(max(to_run)):
            shift = round_number % len(pairs)
            order = list(range(len(pairs)))[shift:] + list(range(len(pairs)))[:shift]
            for index in order:
                pair = pairs[index]
                if round_number < to_run[index]:
                    self._measure(module, params, data, pair, pair.calls_per_round, keep=True)
                    done += 1
                    self.progress(description, done, total)
        return [self._row(name, params, pair) for pair in pairs]

    def _explain(self, module: ModuleType, params: dict, data: dict, pair: Pair) -> list[dict]:
        """One untimed call whose statements are captured, then explained by the scenario."""
        ops = module.ops(self.db, data, params, 1)
        plans = module.explain(
            self.db,
            pair.variant.name,
            pair.port.driver,
            self.sent(pair.implementation, pair.variant, ops[0]),
            ops[0],
            data,
        )
        if hasattr(module, "after"):
            module.after(self.db, data, ops)
        return plans

    def sent(self, implementation: str, variant: Variant, op: Op) -> list[Any]:
        """One call outside the timed loop; the statements it sent, as its driver's hook saw
        them (``counting.Sent``). An async call is counted inside the event loop, which runs
        its tasks in a context of its own."""
        port = self.ports[implementation]
        if port.mode == "sync":
            with counting(capture=True) as counter:
                variant.call(port, op)
            return counter.sent or []

        async def call() -> list[Any]:
            with counting(capture=True) as counter:
                await variant.call(port, op)
                await settle()
            return counter.sent or []

        return self.loop.run(call())

    def _warm_up(self, module: ModuleType, params: dict, data: dict, pair: Pair) -> None:
        # The first call is measured as if it were a round; a call of a second or more is
        # warm after one run (compile caches and prepared statements are a few ms of it), so
        # it is kept as the first round. A faster one is discarded and warmed up further.
        first = self._measure(module, params, data, pair, 1, keep=True)
        estimate = first
        if first < SLOW_CALL_SECONDS:
            pair.discard_measurements()
            more = self.timing.warmup_calls if first < 0.05 else 1
            estimate = self._measure(module, params, data, pair, more, keep=False)
        if first < 0.5:
            tracemalloc.start()
            try:
                self._measure(module, params, data, pair, 1, keep=False)
                pair.peak_memory = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
        if getattr(module, "CALIBRATE_ON_MEAN", False) and first < SLOW_CALL_SECONDS:
            # Calls of very unequal cost (a cache's hits and its misses and writes): a few
            # warm-up calls are all cheap ones, and rounds sized on them would run for
            # seconds. One untimed round sized so, then the mean of its calls sizes the rest.
            calls = self._calls_per_round(estimate)
            estimate = self._measure(module, params, data, pair, calls, keep=False, mean=True)
        factor = self.slowdowns.get((pair.scenario, pair.variant.name, pair.implementation))
        if factor:
            pair.extra_s = (factor - 1) * estimate
        timing = self.timing
        pair.calls_per_round = self._calls_per_round(estimate)
        wanted = round(timing.pair_seconds / (pair.calls_per_round * estimate))
        pair.rounds = max(timing.min_rounds, min(timing.max_rounds, wanted))

    def _calls_per_round(self, estimate: float) -> int:
        timing = self.timing
        return max(1, min(timing.max_calls_per_round, round(timing.round_seconds / estimate)))

    def _measure(
        self,
        module: ModuleType,
        params: dict,
        data: dict,
        pair: Pair,
        count: int,
        keep: bool,
        mean: bool = False,
    ) -> float:
        """Run ``count`` calls of ``pair``; verify the last; return the median call time (or
        the mean)."""
        ops = module.ops(self.db, data, params, count)
        stats = pair.port.pool_stats
        checkouts, connects = stats.checkouts, stats.connects
        tally = getattr(module, "tally", None)
        # Untimed: the garbage earlier rounds (and scenarios) left is collected now, so that a
        # full collection does not land in this round because of them. What the calls
        # themselves allocate they still pay for, collections they trigger included.
        gc.collect()
        if pair.port.mode == "async":
            timed_call = timed_async(pair.port, pair.variant, ops, pair.extra_s, bool(tally))
            result, timed = self.loop.run(timed_call)
        else:
            result, timed = timed_sync(pair.port, pair.variant, ops, pair.extra_s, bool(tally))
        try:
            module.verify(self.db, pair.variant.name, result, ops[-1], data)
            outcomes = (
                tally(pair.variant.name, ops, timed.results, timed.statements) if tally else {}
            )
        except scenarios.WrongResult as exc:
            raise scenarios.WrongResult(
                f"{pair.variant.name} on {pair.implementation} ({params}): {exc}"
            ) from None
        if keep:
            pair.samples.extend(timed.wall)
            pair.round_medians.append(metrics.summarize(timed.wall).median_s)
            pair.cpu_samples.extend(timed.cpu)
            pair.cpu_round_medians.append(metrics.summarize(timed.cpu).median_s)
            pair.statements.extend(timed.statements)
            pair.round_trips.extend(timed.round_trips)
            pair.rows.append(module.rows(pair.variant.name, result))
            pair.work = shapes.describe(result)
            pair.outcomes.update(outcomes)
            if tally:
                sent = zip(timed.wall, timed.statements, strict=True)
                pair.hit_samples.extend(wall for wall, statements in sent if statements == 0)
            pair.checkouts += stats.checkouts - checkouts
            pair.connects += stats.connects - connects
        if hasattr(module, "after"):
            module.after(self.db, data, ops)
        return statistics.fmean(timed.wall) if mean else metrics.summarize(timed.wall).median_s

    def _row(self, scenario: str, params: dict[str, Any], pair: Pair) -> dict[str, Any]:
        summary = metrics.summarize(pair.samples)
        calls = len(pair.samples)
        name = pair.implementation
        row = {
            "scenario": scenario,
            "variant": pair.variant.name,
            "label": pair.variant.label,
            "implementation": name,
            "operation": pair.variant.operation,
            "how": pair.variant.how,
            "driver": IMPLEMENTATIONS[name][0],
            "mode": IMPLEMENTATIONS[name][1],
            "params": params,
            "rounds": pair.rounds,
            "calls": calls,
            "median_s": summary.median_s,
            "mean_s": statistics.fmean(pair.samples),
            "p95_s": summary.p95_s,
            "iqr_s": summary.iqr_s,
            "ops_per_s": summary.ops_per_s,
            "cpu_median_s": statistics.median(pair.cpu_samples),
            "queries_per_op": _per_op(pair.statements),
            "queries_vary": len(set(pair.statements)) > 1,
            "round_trips_per_op": _per_op(pair.round_trips),
            "round_trips_vary": len(set(pair.round_trips)) > 1,
            "rows_per_op": sum(pair.rows) / len(pair.rows),
            "result_shape": pair.work[0],
            "columns_per_row": pair.work[1],
            "floor_ratio": None,
            "pool_checkouts_per_op": pair.checkouts / calls,
            "pool_connects": pair.connects,
            "samples_s": metrics.thin(pair.samples, SAMPLES_KEPT),
            "round_medians_s": pair.round_medians,
            "cpu_round_medians_s": pair.cpu_round_medians,
        }
        if pair.peak_memory is not None:
            row["peak_memory_bytes"] = pair.peak_memory
        if pair.variant.differs:
            row["differs"] = pair.variant.differs
        if pair.plans is not None:
            row["plans"] = pair.plans
        if pair.setup is not None:
            row["setup"] = pair.setup
        if pair.outcomes:
            row.update(outcome_fields(pair.outcomes))
            row["hit_median_s"] = statistics.median(pair.hit_samples) if pair.hit_samples else None
        return row


OUTCOMES = ("reads", "hits", "stale_reads", "wrong_answers")  # what a tally may count


def outcome_fields(outcomes: Counter[str]) -> dict[str, Any]:
    """A tallying scenario's counts as row fields, and the hit ratio they give."""
    unknown = set(outcomes) - set(OUTCOMES)
    if unknown:
        raise ValueError(f"a tally counted {sorted(unknown)}; the results know {OUTCOMES}")
    fields: dict[str, Any] = {name: outcomes[name] for name in OUTCOMES}
    fields["hit_ratio"] = outcomes["hits"] / outcomes["reads"] if outcomes["reads"] else None
    return fields


def _per_op(statements: list[int]) -> float:
    # Deterministic by design: every call of a pair sends the same statements. If they do
    # vary, the mean is reported and queries_vary says so.
    return statements[0] if len(set(statements)) == 1 else sum(statements) / len(statements)


def add_floor_ratios(rows: list[dict[str, Any]], floors: dict[str, dict[str, str]]) -> None:
    """floor_ratio = median / the floor's median, same scenario and params, same run. A
    scenario's FLOOR names the floor variant per operation, or per variant where its
    variants are different queries of one operation (each divided by itself on the floor)."""
    medians = {
        (r["scenario"], r["variant"], r["implementation"], repr(r["params"])): r["median_s"]
        for r in rows
    }
    for row in rows:
        own = floors[row["scenario"]]
        floor_variant = own.get(row["variant"], own.get(row["operation"]))
        floor = {"variant": floor_variant, "implementation": FLOORS[row["mode"]]}
        key = (row["scenario"], floor_variant, floor["implementation"], repr(row["params"]))
        if floor_variant is not None and key in medians:
            row["floor_ratio"] = row["median_s"] / medians[key]
            row["floor"] = floor


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
