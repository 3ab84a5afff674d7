"""Query-result caching, written once: the stores, the read-through and the single-flight guard
that the API (``ORMBENCH_CACHE``, ``stats_cache.py``) and the caching scenario both use.

Entries are per user and name (``stats``, ``tasks``): ``lookup(user_id, name)``. A write that
changes a user's data calls ``invalidate([user_id, ...])``; one whose users are not known
calls ``invalidate_all()``. Invalidation does not delete entries, it moves *stamps*: every
user has a version and the whole namespace a generation, and an entry is served only if it
was stored under the stamp that is current now. That closes the race a plain delete leaves
open: a read that loaded the old row just before a write committed, and stores it just after
the write's delete, would keep serving the old answer until its TTL; here it stores it under
a stamp that is already stale, and nobody ever reads it.

Two stores with one behaviour:

- ``MemoryStore``: in-process, a ``cachetools.TTLCache`` (bounded, each entry expiring
  ``ttl`` seconds after it was stored) behind a lock, since a sync app's endpoints run on a
  threadpool. Each process has its own: a write in one worker does not reach another's.
- ``RedisStore`` (redis-py) and ``AsyncRedisStore`` (``redis.asyncio``): shared by every
  process. A lookup is one round trip (``MGET`` of the generation, the user's version and the
  entry); a store is one ``SET ... PX``; an invalidation one pipelined ``INCR`` per user.
  Versions outlive entries (``VERSION_TTL_FACTOR`` x ``ttl``) and then expire, so the keys
  of a long-running server stay bounded; every key starts with ``prefix:``.

``ReadThrough`` / ``AsyncReadThrough`` turn a store into "look up, else load and store",
optionally behind a single-flight guard: concurrent misses of one entry (one stamp) wait for
the first one's load instead of each sending the query (a cache stampede).
"""

import threading
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from cachetools import TTLCache

from implementations.contract.single_flight import AsyncSingleFlight, SingleFlight

Stamp = tuple[int, int]  # (generation of the namespace, version of the user)
T = TypeVar("T")

MISS: Any = object()  # what a lookup returns when there is no current entry
HIT, MISSED, SHARED = "hit", "miss", "shared"  # where a read-through's answer came from
MAX_ENTRIES = 100_000  # per in-process store: the TTLCache evicts the least recent beyond it
VERSION_TTL_FACTOR = 100  # a version lives this many entry TTLs after its last change


# --- in-process --------------------------------------------------------------------------


class MemoryStore:
    """Entries in a ``cachetools.TTLCache``, stamps in dicts, one lock around both."""

    def __init__(self, ttl: float, maxsize: int = MAX_ENTRIES) -> None:
        self.entries: TTLCache[tuple[int, str], tuple[Stamp, Any]] = TTLCache(maxsize, ttl)
        self.versions: dict[int, int] = {}
        self.generation = 0
        self.names: set[str] = set()
        self.lock = threading.Lock()

    def _stamp(self, user_id: int) -> Stamp:
        return self.generation, self.versions.get(user_id, 0)

    def lookup(self, user_id: int, name: str) -> tuple[Stamp, Any]:
        with self.lock:
            stamp = self._stamp(user_id)
            entry = self.entries.get((user_id, name))
        if entry is not None and entry[0] == stamp:
            return stamp, entry[1]
        return stamp, MISS

    def store(self, user_id: int, name: str, stamp: Stamp, value: Any) -> None:
        with self.lock:
            if stamp == self._stamp(user_id):  # else a write came in while it was loading
                self.entries[(user_id, name)] = (stamp, value)
                self.names.add(name)

    def invalidate(self, user_ids: Iterable[int]) -> None:
        with self.lock:
            for user_id in user_ids:
                self.versions[user_id] = self.versions.get(user_id, 0) + 1
                for name in self.names:  # free the memory now rather than at expiry
                    self.entries.pop((user_id, name), None)

    def invalidate_all(self) -> None:
        with self.lock:
            self.generation += 1
            self.entries.clear()

    def close(self) -> None:
        pass


class AsyncMemoryStore:
    """The same store for async code: nothing in it waits, so its methods only wrap."""

    def __init__(self, ttl: float, maxsize: int = MAX_ENTRIES) -> None:
        self.memory = MemoryStore(ttl, maxsize)

    async def lookup(self, user_id: int, name: str) -> tuple[Stamp, Any]:
        return self.memory.lookup(user_id, name)

    async def store(self, user_id: int, name: str, stamp: Stamp, value: Any) -> None:
        self.memory.store(user_id, name, stamp, value)

    async def invalidate(self, user_ids: Iterable[int]) -> None:
        self.memory.invalidate(user_ids)

    async def invalidate_all(self) -> None:
        self.memory.invalidate_all()

    async def close(self) -> None:
        pass


# --- Redis ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RedisKeys:
    """Key names and value encoding shared by the sync and the async Redis store."""

    prefix: str
    ttl: float

    @property
    def generation(self) -> str:
        return f"{self.prefix}:generation"

    def version(self, user_id: int) -> str:
        return f"{self.prefix}:version:{user_id}"

    def entry(self, user_id: int, name: str) -> str:
        return f"{self.prefix}:entry:{user_id}:{name}"

    @property
    def ttl_ms(self) -> int:
        return max(1, round(self.ttl * 1000))

    @property
    def version_ttl_ms(self) -> int:
        return self.ttl_ms * VERSION_TTL_FACTOR

    def lookup_keys(self, user_id: int, name: str) -> list[str]:
        return [self.generation, self.version(user_id), self.entry(user_id, name)]

    @staticmethod
    def decode(found: list[bytes | None]) -> tuple[Stamp, Any]:
        generation, version, entry = found
        stamp = (int(generation or 0), int(version or 0))
        if entry is not None:
            entry_generation, entry_version, value = entry.split(b":", 2)
            if (int(entry_generation), int(entry_version)) == stamp:
                return stamp, value
        return stamp, MISS

    @staticmethod
    def encode(stamp: Stamp, value: bytes) -> bytes:
        return b"%d:%d:" % stamp + value


class RedisStore:
    """Entries as bytes in Redis (redis-py, blocking: for sync code)."""

    def __init__(self, client: Any, prefix: str, ttl: float) -> None:
        self.client = client
        self.keys = RedisKeys(prefix, ttl)

    @classmethod
    def from_url(cls, url: str, prefix: str, ttl: float) -> "RedisStore":
        import redis

        return cls(redis.Redis.from_url(url, socket_timeout=5), prefix, ttl)

    def lookup(self, user_id: int, name: str) -> tuple[Stamp, Any]:
        return self.keys.decode(self.client.mget(self.keys.lookup_keys(user_id, name)))

    def store(self, user_id: int, name: str, stamp: Stamp, value: bytes) -> None:
        keys = self.keys
        self.client.set(keys.entry(user_id, name), keys.encode(stamp, value), px=keys.ttl_ms)

    def invalidate(self, user_ids: Iterable[int]) -> None:
        with self.client.pipeline(transaction=False) as pipe:
            for user_id in user_ids:
                pipe.incr(self.keys.version(user_id))
                pipe.pexpire(self.keys.version(user_id), self.keys.version_ttl_ms)
            pipe.execute()

    def invalidate_all(self) -> None:
        with self.client.pipeline(transaction=False) as pipe:
            pipe.incr(self.keys.generation)
            pipe.pexpire(self.keys.generation, self.keys.version_ttl_ms)
            pipe.execute()

    def close(self) -> None:
        self.client.close()


class AsyncRedisStore:
    """The same on ``redis.asyncio``: for async code, on the event loop that uses it."""

    def __init__(self, client: Any, prefix: str, ttl: float) -> None:
        self.client = client
        self.keys = RedisKeys(prefix, ttl)

    @classmethod
    def from_url(cls, url: str, prefix: str, ttl: float) -> "AsyncRedisStore":
        import redis.asyncio

        return cls(redis.asyncio.Redis.from_url(url, socket_timeout=5), prefix, ttl)

    async def lookup(self, user_id: int, name: str) -> tuple[Stamp, Any]:
        return self.keys.decode(await self.client.mget(self.keys.lookup_keys(user_id, name)))

    async def store(self, user_id: int, name: str, stamp: Stamp, value: bytes) -> None:
        keys = self.keys
        await self.client.set(keys.entry(user_id, name), keys.encode(stamp, value), px=keys.ttl_ms)

    async def invalidate(self, user_ids: Iterable[int]) -> None:
        async with self.client.pipeline(transaction=False) as pipe:
            for user_id in user_ids:
                pipe.incr(self.keys.version(user_id))
                pipe.pexpire(self.keys.version(user_id), self.keys.version_ttl_ms)
            await pipe.execute()

    async def invalidate_all(self) -> None:
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.incr(self.keys.generation)
            pipe.pexpire(self.keys.generation, self.keys.version_ttl_ms)
            await pipe.execute()

    async def close(self) -> None:
        await self.client.aclose()


# --- read-through --------------------------------------------------------------------------


def _same(value: Any) -> Any:
    return value


@dataclass
class ReadThrough(Generic[T]):
    """``get(user_id, name, load)``: the current entry, else ``load()`` stored under the stamp
    read before loading. Returns ``(value, source)``: ``hit`` (from the store), ``miss`` (this
    call loaded it) or ``shared`` (it waited for a concurrent miss's load: no query either).
    ``encode``/``decode`` turn a value into what the store keeps (bytes for Redis; the object
    itself in process)."""

    store: Any  # MemoryStore or RedisStore
    single_flight: bool = True
    encode: Callable[[Any], Any] = _same
    decode: Callable[[Any], Any] = _same
    flights: SingleFlight = field(default_factory=SingleFlight)

    def get(self, user_id: int, name: str, load: Callable[[], T]) -> tuple[T, str]:
        stamp, found = self.store.lookup(user_id, name)
        if found is not MISS:
            return self.decode(found), HIT

        def load_and_store() -> T:
            value = load()
            self.store.store(user_id, name, stamp, self.encode(value))
            return value

        if not self.single_flight:
            return load_and_store(), MISSED

        def unless_stored_meanwhile() -> T:
            # A load that finished between this call's lookup and its turn as leader has
            # stored the entry: take it rather than query again.
            now, found = self.store.lookup(user_id, name)
            return self.decode(found) if now == stamp and found is not MISS else load_and_store()

        value, leader = self.flights.run((user_id, name, stamp), unless_stored_meanwhile)
        return value, MISSED if leader else SHARED

    def invalidate(self, user_ids: Iterable[int]) -> None:
        self.store.invalidate(user_ids)

    def invalidate_all(self) -> None:
        self.store.invalidate_all()

    def close(self) -> None:
        self.store.close()


@dataclass
class AsyncReadThrough(Generic[T]):
    """``ReadThrough`` for async code, on ``AsyncMemoryStore`` or ``AsyncRedisStore``."""

    store: Any
    single_flight: bool = True
    encode: Callable[[Any], Any] = _same
    decode: Callable[[Any], Any] = _same
    flights: AsyncSingleFlight = field(default_factory=AsyncSingleFlight)

    async def get(self, user_id: int, name: str, load: Callable[[], Awaitable[T]]) -> tuple[T, str]:
        stamp, found = await self.store.lookup(user_id, name)
        if found is not MISS:
            return self.decode(found), HIT

        async def load_and_store() -> T:
            value = await load()
            await self.store.store(user_id, name, stamp, self.encode(value))
            return value

        if not self.single_flight:
            return await load_and_store(), MISSED

        async def unless_stored_meanwhile() -> T:
            now, found = await self.store.lookup(user_id, name)  # as ReadThrough's
            if now == stamp and found is not MISS:
                return self.decode(found)  # type: ignore[no-any-return]
            return await load_and_store()

        value, leader = await self.flights.run((user_id, name, stamp), unless_stored_meanwhile)
        return value, MISSED if leader else SHARED

    async def invalidate(self, user_ids: Iterable[int]) -> None:
        await self.store.invalidate(user_ids)

    async def invalidate_all(self) -> None:
        await self.store.invalidate_all()

    async def close(self) -> None:
        await self.store.close()
