"""Caching: a user's statistics under a read/write mix, cached wrongly, in process, in Redis.

Each call reads a user's statistics (or the first page of their tasks) or writes. Reads go
mostly to a few hot users, as real traffic does; about one call in twenty is a write that
changes two users' statistics (a task transferred, and later in the same batch transferred
back). Every read is checked against what the data held at that moment, and every answer is
counted: a *hit* sent no statement, a *stale read* returned an earlier value of that user's
data, a *wrong answer* returned something that user's data never was. The seed's decorator
keys its cache by the function's name alone and hands one user's statistics to every other:
its row is wrong, and the report shows it as wrong, not as fast. An invalidating cache (in
process on cachetools, or Redis with the same keys) must have neither: a stale read there
fails the run. A TTL-only cache shows what skipping invalidation costs.

The stampede: one user's entry is invalidated and many requests miss it at once; without a
guard each of them sends the query, with a single-flight guard one does and the rest wait
for it. Two workers: a second process on the same database answers half the calls; with an
in-process cache each, a write in one leaves the other serving the old statistics, while a
Redis both share has no stale read.
"""

from dataclasses import dataclass, field
from typing import Any

from benchmarks.redis_server import delete_prefix, run_prefix
from implementations.contract.counting import record_elsewhere
from scenarios import Context, Op, Variants, WrongResult, seed, shapes
from scenarios.cache_clients import AsyncClient, Config, SyncClient, Way, from_wire
from scenarios.cache_model import Model, Workload, observed
from scenarios.cache_worker import Spec, Worker

NEEDS_REDIS = True  # ormbench bench provides one (benchmarks/redis_server.py)
_COMMON = {"hot_share": 0.9, "write_share": 0.05, "readers": 10, "ttl_s": 30.0}
PARAMS = {
    "quick": [{"users": 100, "tasks_per_user": 10, "hot_users": 10, **_COMMON}],
    "standard": [{"users": 1000, "tasks_per_user": 20, "hot_users": 50, **_COMMON}],
    "full": [{"users": 10_000, "tasks_per_user": 20, "hot_users": 200, **_COMMON}],
}
LIST_LIMIT = 10  # the task listing read: the first page of a user's tasks, newest first
TASKS_SHARE = 0.2  # of reads
VARIANTS = Variants()
FLOOR = {"user_stats": "no_cache"}
CALIBRATE_ON_MEAN = True  # hits cost microseconds, misses and writes milliseconds

WAYS = {
    "no_cache": Way(None),
    "seed_decorator": Way(None, seed=True),
    "ttl_only": Way("memory", invalidate=False),
    "in_process": Way("memory"),
    "redis": Way("redis"),
    "stampede_unguarded": Way("memory", single_flight=False),
    "stampede_single_flight": Way("memory"),
    "two_workers_in_process": Way("memory"),
    "two_workers_redis": Way("redis"),
}
# Variants that show a mistake: their wrong answers and stale reads are counted, not fatal.
SHOWS_A_MISTAKE = frozenset({"seed_decorator", "ttl_only", "two_workers_in_process"})
STAMPEDES = frozenset({"stampede_unguarded", "stampede_single_flight"})
# Variants whose statement count is a race, not the code: the regression check lists them.
RACES = {
    "stampede_unguarded": "how many concurrent misses query before the first one fills the "
    "entry is a race between threads or tasks"
}
TWO_WORKERS = frozenset({"two_workers_in_process", "two_workers_redis"})


# --- the run's caches and second process -------------------------------------------------


@dataclass
class _Run:
    context: Context
    prefix: str
    clients: dict[tuple[str, str], Any] = field(default_factory=dict)
    worker: Worker | None = None
    params_sets: int = 0

    def rebuild(self, params: dict[str, Any], hot: list[int]) -> None:
        """New caches and a new second process for a new params set; the caches are then
        warmed with the hot users' entries (untimed), as a cache in service is: the rows
        measure a warm cache's hits, misses and invalidations, not its first minute."""
        self.release()
        self.params_sets += 1
        settings = self.context.settings
        config = Config(settings.redis_url, params["ttl_s"], LIST_LIMIT, params["readers"])
        prefixes = {}
        for variant, way in WAYS.items():
            for name, port in self.context.ports.items():
                prefix = prefixes[(variant, name)] = (
                    f"{self.prefix}:{self.params_sets}:{variant}:{name}"
                )
                kind = AsyncClient if port.mode == "async" else SyncClient
                self.clients[(variant, name)] = kind(port, way, config, prefix)
        spec = Spec(
            settings=settings.model_dump(),
            implementations=list(self.context.ports),
            clients={
                (v, n): (WAYS[v], prefix) for (v, n), prefix in prefixes.items() if v in TWO_WORKERS
            },
            config=config,
        )
        self.worker = Worker(spec).start()
        self.warm(hot)

    def warm(self, users: list[int]) -> None:
        assert self.worker is not None
        for (variant, name), client in self.clients.items():
            if variant in STAMPEDES or variant == "no_cache":  # nothing to warm, or cold by design
                continue
            for user in users:
                for kind in ("stats", "tasks"):
                    op = {"kind": kind, "user_id": user}
                    if isinstance(client, AsyncClient):
                        self.context.run(client.do(op))
                    else:
                        client.do(op)
                    if variant in TWO_WORKERS:
                        self.worker.call(variant, name, {**op, "worker": "b"})

    def release(self) -> None:
        for client in self.clients.values():
            if isinstance(client, AsyncClient):
                self.context.run(client.close())
            else:
                client.close()
        self.clients.clear()
        if self.worker is not None:
            self.worker.stop()
            self.worker = None


_RUN: _Run | None = None  # variants get (port, op) only: the run's clients live here


def open(context: Context) -> None:
    global _RUN
    if not context.settings.redis_url:
        raise RuntimeError(
            "the caching scenario needs Redis: ormbench bench provides one (REDIS_URL, else "
            "an embedded server); a Runner needs redis_url="
        )
    _RUN = _Run(context, run_prefix(f"{context.settings.cache_prefix}:bench"))


def close(context: Context) -> None:
    global _RUN
    if _RUN is not None:
        _RUN.release()
        delete_prefix(context.settings.redis_url, _RUN.prefix)  # only this run's keys
        _RUN = None


def _client(name: str, port: Any) -> Any:
    if _RUN is None:
        raise RuntimeError("the caching scenario is not open: the runner calls open() first")
    return _RUN.clients[(name, port.name)]


# --- data and workload -------------------------------------------------------------------


def setup(db: seed.Database, params: dict[str, Any]) -> dict[str, Any]:
    data = seed.users_and_tasks(db, params["users"], params["tasks_per_user"])
    # Titles unique across users, so that a transfer never meets a title clash.
    db.execute("UPDATE tasks SET title = title || ' #' || id")
    users = list(range(1, params["users"] + 1))
    hot = users[:: max(1, len(users) // params["hot_users"])][: params["hot_users"]]
    data["workload"] = Workload(
        Model.read(db, LIST_LIMIT),
        users,
        hot,
        params["hot_share"],
        params["write_share"],
        TASKS_SHARE,
    )
    if _RUN is not None:
        _RUN.rebuild(params, hot)
    return data


def ops(db: seed.Database, data: dict[str, Any], params: dict[str, Any], count: int) -> list[Op]:
    return data["workload"].batch(count)


# --- variants ------------------------------------------------------------------------------


@VARIANTS.add("user_stats", "sql")
def no_cache(port: Any, op: Op) -> Any:
    """no cache: every read queries"""
    return _client("no_cache", port).do(op)


@VARIANTS.add("user_stats", "sql")
def seed_decorator(port: Any, op: Op) -> Any:
    """the seed's @cached_query: one key whatever the user, never invalidated"""
    return _client("seed_decorator", port).do(op)


@VARIANTS.add("user_stats", "sql")
def ttl_only(port: Any, op: Op) -> Any:
    """in-process TTL cache keyed by user, expiry only: no invalidation"""
    return _client("ttl_only", port).do(op)


@VARIANTS.add("user_stats", "sql")
def in_process(port: Any, op: Op) -> Any:
    """in-process TTL cache (cachetools) keyed by user, invalidated on write"""
    return _client("in_process", port).do(op)


@VARIANTS.add("user_stats", "sql")
def redis(port: Any, op: Op) -> Any:
    """Redis (redis-py, redis.asyncio) keyed by user, invalidated on write"""
    return _client("redis", port).do(op)


@VARIANTS.add("user_stats", "sql")
def stampede_unguarded(port: Any, op: Op) -> Any:
    """stampede: concurrent misses of one entry, no guard"""
    return _client("stampede_unguarded", port).burst(op["user_id"])


@VARIANTS.add("user_stats", "sql")
def stampede_single_flight(port: Any, op: Op) -> Any:
    """stampede: the same misses behind a single-flight guard"""
    return _client("stampede_single_flight", port).burst(op["user_id"])


@VARIANTS.add("user_stats", "sql")
def two_workers_in_process(port: Any, op: Op) -> Any:
    """two processes, each with its own in-process cache"""
    return _routed("two_workers_in_process", port, op)


@VARIANTS.add("user_stats", "sql")
def two_workers_redis(port: Any, op: Op) -> Any:
    """two processes sharing one Redis"""
    return _routed("two_workers_redis", port, op)


def _routed(name: str, port: Any, op: Op) -> Any:
    """Half the calls (``op["worker"]``) go to the second process, as a balancer sends them."""
    if op["worker"] == "a":
        return _client(name, port).do(op)
    if port.mode == "async":
        return _remote_async(name, port, op)
    return _remote(name, port, op)


def _remote(name: str, port: Any, op: Op) -> Any:
    assert _RUN is not None
    assert _RUN.worker is not None
    answer, statements, round_trips = _RUN.worker.call(name, port.name, op)
    record_elsewhere(statements, round_trips)
    return from_wire(op["kind"], answer)


async def _remote_async(name: str, port: Any, op: Op) -> Any:
    return _remote(name, port, op)


# --- checking every answer -----------------------------------------------------------------


def judge(variant: str, op: Op, result: Any) -> tuple[int, int, int]:
    """(reads, stale reads, wrong answers) of one call. A write must have moved its task."""
    if variant in STAMPEDES:
        answers = [observed("stats", one) for one in result]
        wrong = sum(answer != op["base_stats"] for answer in answers)
        return len(answers), 0, wrong
    if op["kind"] == "write":
        moved = shapes.task(result)
        if (moved["id"], moved["user_id"]) != (op["task_id"], op["to_user_id"]):
            raise WrongResult(f"transfer of task {op['task_id']} returned {moved}")
        return 0, 0, 0
    answer = observed(op["kind"], result)
    if answer == op["expected"]:
        return 1, 0, 0
    if answer in op["seen"]:
        return 1, 1, 0
    return 1, 0, 1


def _check(variant: str, op: Op, stale: int, wrong: int) -> None:
    if (stale or wrong) and variant not in SHOWS_A_MISTAKE:
        what = "a stale read" if stale else "a wrong answer"
        raise WrongResult(
            f"{what} for user {op['user_id']} ({op['kind']}): expected {op['expected']}"
        )


def verify(db: seed.Database, variant: str, result: Any, op: Op, data: dict[str, Any]) -> None:
    _, stale, wrong = judge(variant, op, result)
    _check(variant, op, stale, wrong)


def tally(variant: str, ops: list[Op], results: list[Any], statements: list[int]) -> dict[str, int]:
    counts = {"reads": 0, "hits": 0, "stale_reads": 0, "wrong_answers": 0}
    for op, result, sent in zip(ops, results, statements, strict=True):
        reads, stale, wrong = judge(variant, op, result)
        _check(variant, op, stale, wrong)
        counts["reads"] += reads
        # A hit sends no statement; in a stampede, every reader that did not query was one.
        counts["hits"] += max(reads - sent, 0) if variant in STAMPEDES else reads * (sent == 0)
        counts["stale_reads"] += stale
        counts["wrong_answers"] += wrong
    return counts


def rows(variant: str, result: Any) -> int:
    return len(result) if isinstance(result, list) else 1
