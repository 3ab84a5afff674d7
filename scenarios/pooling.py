"""Pooling and concurrency: W workers at once, under each pool configuration.

Every other family times one call at a time, which cannot say whether async is faster: an
event loop pays off only when many requests wait on the database at once. Here W workers
drive one implementation at the same time for a fixed number of operations: threads for the
sync implementations (FastAPI runs a ``def`` endpoint on a threadpool, 40 threads by
default), tasks on one event loop for the async ones. The sync workers are threads of one
Python process, so they share the GIL: while one waits on PostgreSQL the others run, but
only one runs Python at a time, as in one uvicorn worker.

Two workloads, verified as in the single-call families: get by id (one short statement) and
the page of 10 users with their tasks (longer: the API's eager load). Each runs under pool
configurations that are the same across implementations where the driver allows, or say why
not: the parity pool of 10; no pool (a new connection per operation); each library's
default; a pool sized to the workers; an undersized pool with a short timeout (exhaustion);
``pool_pre_ping``; asyncpg's reset on release off; the uvloop event loop (what
``uvicorn[standard]`` runs); and PgBouncer in transaction mode, when a ``pgbouncer`` binary
is found.

Per row: operations per second (of those that succeeded), latency p50/p95/p99 over every
operation, time spent getting a connection (p50/p95), connections opened per 1,000
operations, the peak of server backends seen in ``pg_stat_activity``, timeouts and errors.
An operation that times out waiting for a connection is counted, never fatal, and the run
ends in bounded time.
"""

from dataclasses import dataclass, field
from typing import Any

from implementations.contract.pools import NO_DEFAULT, library_default
from scenarios import Op, Variant, Variants, check, eager_loading, seed, shapes

CONCURRENT = True  # run by benchmarks/concurrent_family.py, W workers at a time
PAGE = 10  # users per page of the long workload
EXHAUSTED_POOL = 2
EXHAUSTED_TIMEOUT_S = 0.05

DATA = {
    "quick": {"users": 100, "tasks_per_user": 10},
    "standard": {"users": 1000, "tasks_per_user": 20},
    "full": {"users": 10000, "tasks_per_user": 20},
}
WORKERS = {"quick": (1, 16), "standard": (1, 4, 16, 64), "full": (1, 4, 16, 64, 128)}
PARAMS = {
    profile: [{"workers": workers, **DATA[profile]} for workers in WORKERS[profile]]
    for profile in WORKERS
}
# Rounds per pair, and how long one lasts: its operations are sized from the warm-up's
# throughput (at least one per worker), so a round of a slow configuration (no pool) costs
# no more time than one of a fast one.
ROUNDS = {"quick": 2, "standard": 3, "full": 6}
ROUND_SECONDS = {"quick": 0.1, "standard": 0.2, "full": 1.0}
VARIANTS = Variants()
FLOOR: dict[str, str] = {}  # floor ratios are taken per configuration (concurrent_family.py)

SQLALCHEMY = ("sync_sqlalchemy", "async_sqlalchemy")
SYNC = ("sync_sqlalchemy", "raw_psycopg2")
ASYNCPG_POOLS = ("tortoise", "raw_asyncpg")


@dataclass(frozen=True)
class Config:
    """One pool configuration: how each implementation's ``Settings`` change, where it does
    not apply and why, and what differs where it applies only in part."""

    name: str
    label: str
    overrides: dict[str, Any] = field(default_factory=dict)
    why_not: dict[str, str] = field(default_factory=dict)
    differs: dict[str, str] = field(default_factory=dict)
    event_loop: str = "asyncio"
    pgbouncer: bool = False
    per_worker_pool: bool = False  # pool_size = workers
    library_default: bool = False

    def settings(self, implementation: str, workers: int) -> dict[str, Any]:
        """``Settings`` fields for ``implementation`` at ``workers`` (it must apply)."""
        overrides = dict(self.overrides)
        if self.per_worker_pool:
            overrides["pool_size"] = workers
        if self.library_default:
            overrides |= library_default(implementation)
        if self.pgbouncer:
            overrides["statement_cache"] = False  # transaction mode: no named statements
        return overrides


NO_POOL_TORTOISE = (
    "Tortoise always builds an asyncpg pool: here each connection serves one query and is "
    "then closed (max_queries=1), so a page (2 queries) opens 2 connections"
)
NOT_ON_A_LOOP = "a sync implementation runs on threads, not on an event loop"
CONFIGS = {
    config.name: config
    for config in (
        Config("parity", "parity pool (10)"),
        Config(
            "no_pool",
            "no pool: a new connection per operation",
            {"pooled": False},
            per_worker_pool=True,  # Tortoise's pool must not cap the workers
            differs={"tortoise": NO_POOL_TORTOISE},
        ),
        Config(
            "default",
            "each library's default pool",
            why_not=NO_DEFAULT,
            library_default=True,
        ),
        Config("sized", "pool sized to the workers", per_worker_pool=True),
        Config(
            "exhausted",
            f"undersized pool ({EXHAUSTED_POOL}), {EXHAUSTED_TIMEOUT_S * 1000:g} ms timeout",
            {"pool_size": EXHAUSTED_POOL, "pool_timeout": EXHAUSTED_TIMEOUT_S},
            differs={
                "tortoise": "Tortoise never times out a checkout (it passes no timeout to "
                "asyncpg's acquire): operations queue instead"
            },
        ),
        Config(
            "pre_ping",
            "parity pool, pool_pre_ping on",
            {"pool_pre_ping": True},
            why_not={
                "tortoise": "asyncpg's pool has no pre-ping",
                "raw_asyncpg": "asyncpg's pool has no pre-ping",
                "raw_psycopg2": "psycopg2's pool has no pre-ping",
            },
        ),
        Config(
            "no_reset",
            "parity pool, asyncpg's reset on release off",
            {"pool_reset_on_release": False},
            why_not={
                "sync_sqlalchemy": "no asyncpg pool: SQLAlchemy's Session ends with its "
                "own ROLLBACK",
                "async_sqlalchemy": "SQLAlchemy pools asyncpg connections itself: asyncpg's "
                "pool and its reset are not used",
                "raw_psycopg2": "no asyncpg pool: psycopg2 in autocommit has nothing to reset",
            },
        ),
        Config(
            "uvloop",
            "parity pool on uvloop",
            event_loop="uvloop",
            why_not=dict.fromkeys(SYNC, NOT_ON_A_LOOP),
        ),
        Config("pgbouncer", "parity pool through PgBouncer (transaction mode)", pgbouncer=True),
        Config(
            "pgbouncer_no_pool",
            "no pool, through PgBouncer (transaction mode)",
            {"pooled": False},
            per_worker_pool=True,
            pgbouncer=True,
            differs={"tortoise": NO_POOL_TORTOISE},
        ),
    )
}


@dataclass(frozen=True)
class PoolingVariant(Variant):
    """A workload under a configuration; it calls each implementation's API way."""

    config: Config = CONFIGS["parity"]

    def applies_to(self, port: Any) -> bool:
        return port.name not in self.config.why_not


# The way each implementation's API does the operation (crud.py), the floors' read for them.
API_WAYS = {
    "get_user": ("entity", "sql"),
    "users_with_tasks": ("selectin", "prefetch", "join"),
}


def api_way(port: Any, operation: str) -> str:
    return next(how for how in API_WAYS[operation] if how in port.HOW[operation])


def get_by_id(port: Any, op: Op) -> Any:
    """get by id"""
    return port.get_user(op["user_id"], how=api_way(port, "get_user"))


def users_with_tasks(port: Any, op: Op) -> Any:
    """page of 10 users with their tasks"""
    return port.users_with_tasks(op["limit"], how=api_way(port, "users_with_tasks"))


WORKLOADS = {"get": (get_by_id, "get_user"), "page": (users_with_tasks, "users_with_tasks")}
# Which configurations run each workload: every one with get by id (the short operation,
# where a pool's own cost shows most); the page under parity and exhaustion (a longer
# hold on the connection is what exhausts a pool).
PAGE_CONFIGS = ("parity", "exhausted")
for _config in CONFIGS.values():
    for _workload, (_call, _operation) in WORKLOADS.items():
        if _workload == "page" and _config.name not in PAGE_CONFIGS:
            continue
        _name = f"{_workload}_{_config.name}"
        VARIANTS.include(
            PoolingVariant(
                _name, f"{_call.__doc__}, {_config.label}", _operation, "api", _call, config=_config
            )
        )

# Which variants run at which number of workers, per profile: the parity pool over the whole
# sweep, every configuration at 16 workers, the ones that change with the load at 64 too.
AT_64 = ("parity", "no_pool", "default", "sized", "exhausted", "uvloop", "pgbouncer")
EVERYTHING = tuple(variant.name for variant in VARIANTS)


def _only(configs: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v.name for v in VARIANTS if v.config.name in configs)  # type: ignore[attr-defined]


PLAN: dict[str, dict[int, tuple[str, ...]]] = {
    "quick": {1: _only(("parity",)), 16: EVERYTHING},
    "standard": {1: _only(("parity",)), 4: _only(("parity",)), 16: EVERYTHING, 64: _only(AT_64)},
    "full": {
        1: _only(("parity",)),
        4: _only(("parity",)),
        16: EVERYTHING,
        64: EVERYTHING,
        128: _only(AT_64),
    },
}


def warm_up_operations(workers: int) -> int:
    return max(2 * workers, 20)


def round_operations(profile: str, workers: int, ops_per_s: float) -> int:
    """Operations in one round: ``ROUND_SECONDS`` at the warm-up's pace, one per worker at
    least (the pool is saturated until the last few finish)."""
    return max(workers, 20, round(ops_per_s * ROUND_SECONDS[profile]))


def setup(db: seed.Database, params: dict[str, Any]) -> dict[str, Any]:
    data = seed.users_and_tasks(db, params["users"], params["tasks_per_user"])
    stored = db.all(f"SELECT {', '.join(shapes.USER_FIELDS)} FROM users")
    data["stored_users"] = {row["id"]: row for row in stored}  # read once: verify is cheap
    return data


def ops(db: seed.Database, data: dict[str, Any], params: dict[str, Any], count: int) -> list[Op]:
    start = data.setdefault("calls", 0)
    data["calls"] += count
    users = params["users"]
    return [{"user_id": 1 + (n * 7919) % users, "limit": PAGE} for n in range(start, start + count)]


def verify(db: seed.Database, variant: str, result: Any, op: Op, data: dict[str, Any]) -> None:
    if variant.startswith("get"):
        got = shapes.user(result)
        expected = data["stored_users"][op["user_id"]]
        check(got == expected, f"user {op['user_id']}: got {got}")
    else:
        eager_loading.verify(db, "page", result, {"n": op["limit"]}, data)


def rows(variant: str, result: Any) -> int:
    return 1 if variant.startswith("get") else eager_loading.rows(variant, result)
