"""A concurrent family (``CONCURRENT = True``, today ``pooling``): its groups, ports and rows.

The runner hands such a family here instead of to its single-call loop. The family's module
declares workloads x pool configurations as variants, the worker counts as params, and per
profile which variants run at which worker count (``PLAN``). For each worker count and
configuration, a *group*:

1. every implementation it applies to gets a port of its own, built from the run's settings
   with the configuration's changes, its connections named ``ormbench-<group>-<impl>`` so
   that ``pg_stat_activity`` tells them apart; async ports on an event loop of the group's
   (asyncio's, or uvloop's for that configuration); through a PgBouncer of the group's own
   when the configuration asks for one;
2. every (variant, implementation) pair is warmed up: rounds of 2 x W operations, repeated
   (up to 4) while a round still opened connections, so the pool is warm;
3. measured rounds run interleaved across the pairs (A B C, then B C A, ...), as in the
   single-call engine, unless the group's pools together need more connections than the
   server has room for: then each implementation runs its rounds alone, in turn, and its
   rows say ``interleaved: false``.

The runner's own ports are closed meanwhile, so the server's connections are the family's.
The data is seeded once: every workload only reads. Each row's ``floor_ratio`` is the
floor's throughput over the row's (same params; the floor's row under the same
configuration, or its parity row where the configuration does not apply to the floor).
"""

import asyncio
import statistics
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import uvloop

import scenarios
from benchmarks import metrics
from benchmarks.concurrency import ALL_BACKENDS, BackendSampler, Round, run_async, run_sync
from benchmarks.pgbouncer import MISSING, PgBouncer, find_binary
from implementations import IMPLEMENTATIONS, create_port
from scenarios import shapes

FLOORS = {"sync": "raw_psycopg2", "async": "raw_asyncpg"}
LOOPS = {"asyncio": None, "uvloop": uvloop.new_event_loop}
SAMPLES_KEPT = 400
WARM_UP_ROUNDS = 4
SPARE_CONNECTIONS = 5  # left free on the server beyond what a group needs


@dataclass
class Pair:
    variant: Any  # scenarios.pooling.PoolingVariant
    implementation: str
    port: Any
    application_name: str
    ceiling: int | None = None  # the pool's, read from the driver while the port is open
    operations: int = 0  # per measured round, sized by the warm-up
    rounds: list[Round] = field(default_factory=list)
    connects: int = 0
    checkouts: int = 0
    peak_backends: int = 0
    verified_rows: list[float] = field(default_factory=list)
    work: tuple[str, list[int]] = ("nothing", [])

    @property
    def mode(self) -> str:
        return IMPLEMENTATIONS[self.implementation][1]


class Family:
    """One concurrent family's run on a runner (``benchmarks/runner.py``)."""

    def __init__(self, runner: Any, name: str, module: ModuleType) -> None:
        self.runner, self.name, self.module = runner, name, module
        self.profile = runner.profile
        self.rounds = max(1, min(module.ROUNDS[self.profile], runner.timing.max_rounds))
        self.pgbouncer = find_binary()
        self.groups = 0
        self.data: dict[str, Any] = {}

    # --- the run -------------------------------------------------------------------------

    def run(self, params_sets: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """Every params set of the profile (or those given), every variant its plan runs."""
        params_sets = params_sets or self.module.PARAMS[self.profile]
        if params_sets == self.module.PARAMS[self.profile]:
            self._record_not_applicable()
        db = self.runner.db
        db.reset()
        self.data = self.module.setup(db, params_sets[0])
        rows: list[dict[str, Any]] = []
        harness = db.connection.get_backend_pid()  # seeding and verifying: not a backend of theirs
        with self.runner.ports_released(), BackendSampler(db.url, harness) as sampler:
            self.sampler = sampler
            for params in params_sets:
                planned = self.module.PLAN[self.profile].get(params["workers"], ())
                for config, variants in self._by_config(planned):
                    if config.pgbouncer and self.pgbouncer is None:
                        continue
                    rows += self._group(params, config, variants)
        add_floor_ratios(rows)
        return rows

    def _by_config(self, planned: tuple[str, ...]) -> list[tuple[Any, list[Any]]]:
        """The planned variants grouped by configuration, in the variants' order."""
        grouped: dict[str, tuple[Any, list[Any]]] = {}
        for variant in self.module.VARIANTS:
            if variant.name in planned:
                grouped.setdefault(variant.config.name, (variant.config, []))[1].append(variant)
        return list(grouped.values())

    def _record_not_applicable(self) -> None:
        for variant in self.module.VARIANTS:
            for implementation in self.runner.implementations:
                reason = variant.config.why_not.get(implementation)
                if reason is None and variant.config.pgbouncer and self.pgbouncer is None:
                    reason = f"skipped: {MISSING}"
                if reason:
                    self.runner.not_applicable.append(
                        {
                            "scenario": self.name,
                            "variant": variant.name,
                            "label": variant.label,
                            "implementation": implementation,
                            "reason": reason,
                        }
                    )

    def _room(self) -> int:
        """Connections the server can still accept from us."""
        db = self.runner.db
        limit = int(db.value("SHOW max_connections"))
        reserved = int(db.value("SHOW superuser_reserved_connections"))
        used = int(
            db.value(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = %s", ("client backend",)
            )
        )
        return limit - reserved - used - SPARE_CONNECTIONS

    # --- one group: a configuration at a number of workers --------------------------------

    def _group(
        self, params: dict[str, Any], config: Any, variants: list[Any]
    ) -> list[dict[str, Any]]:
        workers = params["workers"]
        self.groups += 1
        implementations = [
            name for name in self.runner.implementations if name not in config.why_not
        ]
        with ExitStack() as stack:
            url = self.runner.db.url
            if config.pgbouncer:
                bouncer = PgBouncer(url, pool_size=self.runner.settings.pool_size)
                url = stack.enter_context(bouncer).url
            loop = stack.enter_context(asyncio.Runner(loop_factory=LOOPS[config.event_loop]))
            settings = {
                name: self.runner.settings.model_copy(
                    update={
                        **config.settings(name, workers),
                        "database_url": url,
                        "application_name": f"ormbench-{self.groups}-{name}",
                    }
                )
                for name in implementations
            }
            # Every pool held open at once, plus the workers of one unpooled implementation
            # (only one runs at a time).
            unpooled = any(not s.pooled for s in settings.values())
            needed = sum(s.pool_max for s in settings.values() if s.pooled) + unpooled * workers
            together = needed <= self._room()
            batches = [implementations] if together else [[name] for name in implementations]
            pairs: list[Pair] = []
            for batch in batches:
                with self._ports(loop, {name: settings[name] for name in batch}) as ports:
                    own = [
                        Pair(
                            v,
                            name,
                            ports[name],
                            settings[name].application_name or "",
                            ports[name].max_connections,
                        )
                        for v in variants
                        for name in batch
                    ]
                    self._measure(loop, params, own, f"{config.name}, {workers} workers")
                    pairs += own
        return [self._row(params, pair, together) for pair in pairs]

    @contextmanager
    def _ports(self, loop: asyncio.Runner, settings: dict[str, Any]) -> Iterator[dict[str, Any]]:
        ports: dict[str, Any] = {}
        try:
            for name, own in settings.items():
                port = create_port(name, own)
                self._await(loop, port, port.open())
                ports[name] = port
            yield ports
        finally:
            for port in ports.values():
                self._await(loop, port, port.close())

    @staticmethod
    def _await(loop: asyncio.Runner, port: Any, value: Any) -> Any:
        return loop.run(value) if port.mode == "async" else value

    def _measure(
        self, loop: asyncio.Runner, params: dict[str, Any], pairs: list[Pair], what: str
    ) -> None:
        progress = self.runner.progress
        for done, pair in enumerate(pairs):
            progress(f"{self.name} {what}: warming up", done, len(pairs))
            self._warm_up(loop, params, pair)
        total = self.rounds * len(pairs)
        for round_number in range(self.rounds):
            shift = round_number % len(pairs)
            for done, pair in enumerate(pairs[shift:] + pairs[:shift]):
                self._round(loop, params, pair, pair.operations, keep=True)
                progress(f"{self.name} {what}", round_number * len(pairs) + done + 1, total)

    def _warm_up(self, loop: asyncio.Runner, params: dict[str, Any], pair: Pair) -> None:
        # Open the pool's connections and prepare statements on them: repeat while a round
        # still opened new connections (a pool that opens one per checkout never settles).
        # The last warm-up round's pace sizes the measured rounds.
        workers = params["workers"]
        count = self.module.warm_up_operations(workers)
        for _ in range(WARM_UP_ROUNDS):
            done, opened = self._round(loop, params, pair, count, keep=False)
            if opened == 0 or not pair.port.settings.pooled:
                break
        pace = done.operations / done.wall_s if done.wall_s else 0.0
        pair.operations = self.module.round_operations(self.profile, workers, pace)

    def _round(
        self, loop: asyncio.Runner, params: dict[str, Any], pair: Pair, count: int, keep: bool
    ) -> tuple[Round, int]:
        """One round of ``count`` operations; returns it and the connections it opened."""
        workers = params["workers"]
        ops = self.module.ops(self.runner.db, self.data, params, count)
        stats = pair.port.pool_stats
        connects, checkouts = stats.connects, stats.checkouts
        with self.sampler.measuring() as peaks:
            if pair.mode == "async":
                done = loop.run(run_async(pair.port, pair.variant.call, ops, workers))
            else:
                done = run_sync(pair.port, pair.variant.call, ops, workers)
        self._verify(params, pair, done)
        opened = stats.connects - connects
        if keep:
            pair.rounds.append(done)
            pair.connects += opened
            pair.checkouts += stats.checkouts - checkouts
            # Through PgBouncer, a server connection bears a client's name only while it
            # serves it: count every backend of the database (all are PgBouncer's then).
            seen = peaks[ALL_BACKENDS if pair.variant.config.pgbouncer else pair.application_name]
            pair.peak_backends = max(pair.peak_backends, seen)
        return done, opened

    def _verify(self, params: dict[str, Any], pair: Pair, done: Round) -> None:
        # The last result of every worker: as the single-call engine checks the last call
        # of every round, here one per worker. A wrong answer fails the run.
        for op, result in done.last.values():
            try:
                self.module.verify(self.runner.db, pair.variant.name, result, op, self.data)
            except scenarios.WrongResult as exc:
                raise scenarios.WrongResult(
                    f"{pair.variant.name} on {pair.implementation} ({params}): {exc}"
                ) from None
            pair.verified_rows.append(self.module.rows(pair.variant.name, result))
            pair.work = shapes.describe(result)

    # --- the row ---------------------------------------------------------------------------

    def _row(self, params: dict[str, Any], pair: Pair, interleaved: bool) -> dict[str, Any]:
        rounds, name, config = pair.rounds, pair.implementation, pair.variant.config
        latencies = [s for r in rounds for s in r.latencies]
        waits = sorted(s for r in rounds for s in r.waits)
        statements = [s for r in rounds for s in r.statements] or [0]
        round_trips = [s for r in rounds for s in r.round_trips] or [0]
        operations = len(latencies)
        failures: dict[str, int] = {}
        for done in rounds:
            for outcome, times in done.failures.items():
                failures[outcome] = failures.get(outcome, 0) + times
        summary = metrics.summarize(latencies)
        ordered = sorted(latencies)
        cpu_per_op = [r.cpu_s / max(len(r.latencies), 1) for r in rounds]
        row = {
            "scenario": self.name,
            "variant": pair.variant.name,
            "label": pair.variant.label,
            "implementation": name,
            "operation": pair.variant.operation,
            "how": self.module.api_way(pair.port, pair.variant.operation),
            "driver": IMPLEMENTATIONS[name][0],
            "mode": pair.mode,
            "params": params,
            "rounds": len(rounds),
            "calls": operations,
            "median_s": summary.median_s,
            "p95_s": summary.p95_s,
            "iqr_s": summary.iqr_s,
            # Throughput: operations that succeeded per second, the median of the rounds.
            "ops_per_s": statistics.median(r.ops_per_s for r in rounds),
            "cpu_median_s": statistics.median(cpu_per_op),
            "queries_per_op": _per_op(statements),
            "queries_vary": len(set(statements)) > 1,
            "round_trips_per_op": _per_op(round_trips),
            "round_trips_vary": len(set(round_trips)) > 1,
            "rows_per_op": (
                sum(pair.verified_rows) / len(pair.verified_rows) if pair.verified_rows else 0
            ),
            "result_shape": pair.work[0],
            "columns_per_row": pair.work[1],
            "floor_ratio": None,
            "pool_checkouts_per_op": pair.checkouts / operations,
            "pool_connects": pair.connects,
            "samples_s": metrics.thin(latencies, SAMPLES_KEPT),
            "round_medians_s": [statistics.median(r.latencies) for r in rounds],
            "cpu_round_medians_s": cpu_per_op,
            "concurrency": {
                "workers": params["workers"],
                "config": config.name,
                "event_loop": config.event_loop if pair.mode == "async" else "threads",
                "pgbouncer": config.pgbouncer,
                "interleaved": interleaved,
                "operations": operations,
                "succeeded": len([s for r in rounds for s in r.statements]),
                "timeouts": failures.get("timeout", 0),
                "errors": {k: v for k, v in failures.items() if k != "timeout"},
                "wall_s": sum(r.wall_s for r in rounds),
                "ops_per_s_rounds": [r.ops_per_s for r in rounds],
                "latency_p50_s": summary.median_s,
                "latency_p95_s": summary.p95_s,
                "latency_p99_s": metrics.quantile(ordered, 0.99),
                "pool_wait_p50_s": metrics.quantile(waits, 0.5),
                "pool_wait_p95_s": metrics.quantile(waits, 0.95),
                "connections_per_1000_ops": 1000 * pair.connects / operations,
                "peak_backends": pair.peak_backends,
                "pool_ceiling": pair.ceiling,
                "settings": _shown_settings(pair.port.settings),
            },
        }
        if config.differs.get(name):
            row["differs"] = config.differs[name]
        return row


def _per_op(counts: list[int]) -> float:
    return counts[0] if len(set(counts)) == 1 else sum(counts) / len(counts)


def _shown_settings(settings: Any) -> dict[str, Any]:
    names = ("pooled", "pool_size", "max_overflow", "pool_timeout", "pool_pre_ping")
    shown = {name: getattr(settings, name) for name in names}
    shown["pool_reset_on_release"] = settings.pool_reset_on_release
    shown["statement_cache"] = settings.statement_cache
    return shown


def add_floor_ratios(rows: list[dict[str, Any]]) -> None:
    """floor_ratio = the floor's throughput / the row's, same params: the floor under the
    same configuration, or under the parity pool where the configuration has no floor row."""
    throughput = {
        (r["variant"], r["implementation"], repr(r["params"])): r["ops_per_s"] for r in rows
    }
    for row in rows:
        floor = FLOORS[row["mode"]]
        workload = row["variant"].split("_", 1)[0]
        for variant in (row["variant"], f"{workload}_parity"):
            key = (variant, floor, repr(row["params"]))
            if key in throughput and row["ops_per_s"] > 0:
                row["floor_ratio"] = throughput[key] / row["ops_per_s"]
                row["floor"] = {"variant": variant, "implementation": floor}
                break
