"""How each caching variant reads and writes through one implementation's port.

A client wraps a port with one way of caching: none, the seed's decorator, a read-through
(``implementations/contract/cache.py``, in process or in Redis) with or without invalidation
on write. ``do(op)`` runs one call of the workload (a stats read, a task listing, a transfer);
``burst(user_id)`` is the stampede: the user's entry invalidated, then ``readers`` concurrent
reads of it. Sync ports get ``SyncClient`` (threads for the burst, as FastAPI's threadpool),
async ports ``AsyncClient`` (tasks on the runner's event loop). The second process of the
two-workers variants builds the same clients (``cache_worker.py``).

Every way returns the API's schema objects (``UserStats``, a list of ``Task``), so a hit and
a miss, and a cached and an uncached variant, do the same work.
"""

import asyncio
import contextvars
import functools
import inspect
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter

from implementations.contract import schemas
from implementations.contract.cache import (
    AsyncMemoryStore,
    AsyncReadThrough,
    AsyncRedisStore,
    MemoryStore,
    ReadThrough,
    RedisStore,
)
from scenarios import Op

TASKS = TypeAdapter(list[schemas.Task])


def cached_query(ttl_seconds: float = 300) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The seed's decorator, as written: a result cached under the function's name for
    ``ttl_seconds``, whatever its arguments, and never invalidated. The first user's stats are
    every user's until the TTL runs out. Kept here as the exhibit it is; never use it."""

    def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
        cache: dict[str, tuple[Any, float]] = {}

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                key = func.__name__
                if key in cache and time.monotonic() - cache[key][1] < ttl_seconds:
                    return cache[key][0]
                result = await func(*args, **kwargs)
                cache[key] = (result, time.monotonic())
                return result

            return async_wrapper

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            key = func.__name__
            if key in cache and time.monotonic() - cache[key][1] < ttl_seconds:
                return cache[key][0]
            result = func(*args, **kwargs)
            cache[key] = (result, time.monotonic())
            return result

        return wrapper

    return decorator


@dataclass(frozen=True)
class Way:
    """One variant's way of caching."""

    store: str | None  # None (no read-through), "memory" or "redis"
    invalidate: bool = True  # drop a user's entries on a write that changes them
    single_flight: bool = True
    seed: bool = False  # the seed's decorator instead of a read-through


@dataclass(frozen=True)
class Config:
    """What every client of a run shares."""

    redis_url: str | None
    ttl: float
    list_limit: int
    readers: int  # concurrent reads of one burst (the stampede)


def _stats_json(stats: schemas.UserStats) -> bytes:
    return stats.model_dump_json().encode()


def _tasks_json(tasks: list[schemas.Task]) -> bytes:
    return TASKS.dump_json(tasks)


CODECS = {  # what Redis keeps of each entry; the in-process store keeps the objects
    "stats": (_stats_json, schemas.UserStats.model_validate_json),
    "tasks": (_tasks_json, TASKS.validate_json),
}


def from_wire(kind: str, answer: Any) -> Any:
    """An answer the second process sent as plain data, as the schema objects again."""
    if kind == "stats":
        return schemas.UserStats.model_validate(answer)
    if kind == "tasks":
        return TASKS.validate_python(answer)
    return answer


class SyncClient:
    def __init__(self, port: Any, way: Way, config: Config, prefix: str) -> None:
        self.port, self.way, self.config = port, way, config
        self.caches: dict[str, ReadThrough[Any]] = {}
        if way.store == "memory":
            shared = MemoryStore(config.ttl)  # one store for both entries, as an app has
            self.caches = {n: ReadThrough(shared, way.single_flight) for n in CODECS}
        elif way.store == "redis":
            assert config.redis_url is not None
            redis = RedisStore.from_url(config.redis_url, prefix, config.ttl)
            self.caches = {n: ReadThrough(redis, way.single_flight, *CODECS[n]) for n in CODECS}
        self.executor: ThreadPoolExecutor | None = None
        if way.seed:
            self.stats = cached_query()(self.stats)  # type: ignore[method-assign]
            self.tasks = cached_query()(self.tasks)  # type: ignore[method-assign]

    def _read(self, name: str, user_id: int, load: Callable[[], Any]) -> Any:
        cache = self.caches.get(name)
        return load() if cache is None else cache.get(user_id, name, load)[0]

    def stats(self, user_id: int) -> schemas.UserStats:
        return self._read("stats", user_id, lambda: self.port.user_stats(user_id, how="sql"))

    def tasks(self, user_id: int) -> list[schemas.Task]:
        limit = self.config.list_limit

        def load() -> list[schemas.Task]:
            found = self.port.list_tasks(user_id, how="api", limit=limit)
            return TASKS.validate_python(found, from_attributes=True)

        return self._read("tasks", user_id, load)

    def transfer(self, op: Op) -> Any:
        moved = self.port.transfer_task(
            op["task_id"], op["from_user_id"], op["to_user_id"], how="api"
        )
        if self.caches and self.way.invalidate:
            self.caches["stats"].invalidate([op["from_user_id"], op["to_user_id"]])
        return moved

    def do(self, op: Op) -> Any:
        kind = op["kind"]
        if kind == "stats":
            return self.stats(op["user_id"])
        if kind == "tasks":
            return self.tasks(op["user_id"])
        return self.transfer(op)

    def burst(self, user_id: int) -> list[schemas.UserStats]:
        """The user's entry dropped (as a write would), then ``readers`` threads read it at
        once: each is a miss unless a single-flight guard makes them wait for the first."""
        self.caches["stats"].invalidate([user_id])
        readers = self.config.readers
        if self.executor is None:
            self.executor = ThreadPoolExecutor(readers, thread_name_prefix="stampede")
        start = threading.Barrier(readers)

        def read() -> schemas.UserStats:
            start.wait()
            return self.stats(user_id)

        # Each thread runs in a copy of this context: the statements it sends are counted
        # against this call, as a request's threadpool work is.
        futures = [
            self.executor.submit(contextvars.copy_context().run, read) for _ in range(readers)
        ]
        return [future.result() for future in futures]

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown()
        for cache in {id(c): c for c in self.caches.values()}.values():
            cache.close()


class AsyncClient:
    def __init__(self, port: Any, way: Way, config: Config, prefix: str) -> None:
        self.port, self.way, self.config = port, way, config
        self.caches: dict[str, AsyncReadThrough[Any]] = {}
        if way.store == "memory":
            shared = AsyncMemoryStore(config.ttl)
            self.caches = {n: AsyncReadThrough(shared, way.single_flight) for n in CODECS}
        elif way.store == "redis":
            assert config.redis_url is not None
            redis = AsyncRedisStore.from_url(config.redis_url, prefix, config.ttl)
            self.caches = {
                n: AsyncReadThrough(redis, way.single_flight, *CODECS[n]) for n in CODECS
            }
        if way.seed:
            self.stats = cached_query()(self.stats)  # type: ignore[method-assign]
            self.tasks = cached_query()(self.tasks)  # type: ignore[method-assign]

    async def _read(self, name: str, user_id: int, load: Callable[[], Awaitable[Any]]) -> Any:
        cache = self.caches.get(name)
        return await load() if cache is None else (await cache.get(user_id, name, load))[0]

    async def stats(self, user_id: int) -> schemas.UserStats:
        async def load() -> schemas.UserStats:
            return await self.port.user_stats(user_id, how="sql")  # type: ignore[no-any-return]

        return await self._read("stats", user_id, load)  # type: ignore[no-any-return]

    async def tasks(self, user_id: int) -> list[schemas.Task]:
        limit = self.config.list_limit

        async def load() -> list[schemas.Task]:
            found = await self.port.list_tasks(user_id, how="api", limit=limit)
            return TASKS.validate_python([_mapping(row) for row in found], from_attributes=True)

        return await self._read("tasks", user_id, load)  # type: ignore[no-any-return]

    async def transfer(self, op: Op) -> Any:
        moved = await self.port.transfer_task(
            op["task_id"], op["from_user_id"], op["to_user_id"], how="api"
        )
        if self.caches and self.way.invalidate:
            await self.caches["stats"].invalidate([op["from_user_id"], op["to_user_id"]])
        return moved

    async def do(self, op: Op) -> Any:
        kind = op["kind"]
        if kind == "stats":
            return await self.stats(op["user_id"])
        if kind == "tasks":
            return await self.tasks(op["user_id"])
        return await self.transfer(op)

    async def burst(self, user_id: int) -> list[schemas.UserStats]:
        """As ``SyncClient.burst``, with tasks: each runs to its first wait before the next
        starts, so all of them look the entry up before any query has come back."""
        await self.caches["stats"].invalidate([user_id])
        reads = (self.stats(user_id) for _ in range(self.config.readers))
        return list(await asyncio.gather(*reads))

    async def close(self) -> None:
        for cache in {id(c): c for c in self.caches.values()}.values():
            await cache.close()


def _mapping(row: Any) -> Any:
    """An asyncpg Record as a dict (pydantic reads neither its keys nor attributes)."""
    return dict(row.items()) if hasattr(row, "items") and not isinstance(row, dict) else row
