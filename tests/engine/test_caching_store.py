"""The shared cache (implementations/contract/cache.py): its stores on a real Redis (embedded,
and the machine's when one answers) and in process, the stamps that make invalidation safe
against a concurrent load, and the single-flight guard."""

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from benchmarks.redis_server import RedisServer, delete_prefix, run_prefix
from implementations.contract.cache import (
    HIT,
    MISS,
    MISSED,
    SHARED,
    AsyncMemoryStore,
    AsyncReadThrough,
    AsyncRedisStore,
    MemoryStore,
    ReadThrough,
    RedisStore,
)
from implementations.contract.single_flight import AsyncSingleFlight, SingleFlight

TTL = 30.0


@pytest.fixture
def prefix(each_redis: RedisServer) -> Iterator[str]:
    name = run_prefix("ormbench-test-store")
    yield name
    delete_prefix(each_redis.url, name)


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest, each_redis: RedisServer, prefix: str) -> Iterator[Any]:
    if request.param == "memory":
        yield MemoryStore(TTL)
        return
    opened = RedisStore.from_url(each_redis.url, prefix, TTL)
    yield opened
    opened.close()


def test_a_stored_entry_is_found_until_its_user_is_invalidated(store: Any) -> None:
    stamp, found = store.lookup(7, "stats")
    assert found is MISS
    store.store(7, "stats", stamp, b"seven")
    store.store(8, "stats", store.lookup(8, "stats")[0], b"eight")
    assert store.lookup(7, "stats")[1] == b"seven"
    store.invalidate([7])
    assert store.lookup(7, "stats")[1] is MISS
    assert store.lookup(8, "stats")[1] == b"eight"  # another user's entry stays
    store.invalidate_all()
    assert store.lookup(8, "stats")[1] is MISS


def test_a_load_that_a_write_overtook_is_never_served(store: Any) -> None:
    """The race a delete-on-write leaves open: a read looks up (miss), loads the old row, a
    write commits and invalidates, then the read stores the old row. Here it is stored under
    a stamp that is no longer current, and nobody reads it."""
    stamp, _ = store.lookup(3, "stats")
    store.invalidate([3])  # the write, while the read was loading
    store.store(3, "stats", stamp, b"old")
    assert store.lookup(3, "stats")[1] is MISS
    fresh_stamp, _ = store.lookup(3, "stats")
    store.store(3, "stats", fresh_stamp, b"new")
    assert store.lookup(3, "stats")[1] == b"new"


def test_redis_keys_live_under_the_prefix_with_a_ttl(each_redis: RedisServer, prefix: str) -> None:
    store = RedisStore.from_url(each_redis.url, prefix, TTL)
    store.store(5, "stats", store.lookup(5, "stats")[0], b"x")
    store.invalidate([6])
    with redis.Redis.from_url(each_redis.url) as client:
        keys = {key.decode() for key in client.scan_iter(match=f"{prefix}:*")}
        assert keys == {f"{prefix}:entry:5:stats", f"{prefix}:version:6"}
        assert 0 < client.pttl(f"{prefix}:entry:5:stats") <= TTL * 1000
        assert client.pttl(f"{prefix}:version:6") > TTL * 1000  # versions outlive entries
    store.close()


def test_deleting_a_prefix_leaves_every_other_key(each_redis: RedisServer, prefix: str) -> None:
    others = ["someone-else:key", f"{prefix}x:not-ours", f"{prefix}"]
    with redis.Redis.from_url(each_redis.url) as client:
        for key in others:
            client.set(key, b"theirs", px=60_000)
        client.set(f"{prefix}:ours", b"ours")
        try:
            assert delete_prefix(each_redis.url, prefix) == 1
            assert all(client.get(key) == b"theirs" for key in others)
        finally:
            client.delete(*others)


def test_the_memory_store_expires_entries() -> None:
    store = MemoryStore(ttl=0.05)
    store.store(1, "stats", store.lookup(1, "stats")[0], "value")
    time.sleep(0.1)
    assert store.lookup(1, "stats")[1] is MISS


def test_read_through_says_where_an_answer_came_from() -> None:
    cache: ReadThrough[str] = ReadThrough(MemoryStore(TTL))
    assert cache.get(1, "stats", lambda: "loaded") == ("loaded", MISSED)
    assert cache.get(1, "stats", lambda: "again") == ("loaded", HIT)


def test_single_flight_runs_concurrent_loads_once_on_threads() -> None:
    flights = SingleFlight()
    calls, arrived = [], []
    release = threading.Event()

    def load() -> str:
        calls.append(1)
        release.wait(5)
        return "value"

    results: list[tuple[str, bool]] = []

    def read() -> None:
        arrived.append(1)
        results.append(flights.run("key", load))

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    while len(arrived) < 8 or not calls:
        time.sleep(0.001)
    time.sleep(0.05)  # every reader inside run() before the load returns
    release.set()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert sorted(leader for _, leader in results) == [False] * 7 + [True]
    assert {value for value, _ in results} == {"value"}


def test_single_flight_on_tasks_shares_results_and_errors() -> None:
    async def scenario() -> None:
        flights = AsyncSingleFlight()
        calls = []

        async def load() -> str:
            calls.append(1)
            await asyncio.sleep(0.01)
            return "value"

        results = await asyncio.gather(*(flights.run("k", load) for _ in range(10)))
        assert len(calls) == 1
        assert sorted(leader for _, leader in results) == [False] * 9 + [True]

        async def fail() -> str:
            await asyncio.sleep(0.01)
            raise LookupError("no such user")

        failures = await asyncio.gather(
            *(flights.run("k", fail) for _ in range(3)), return_exceptions=True
        )
        assert all(isinstance(f, LookupError) for f in failures)

    asyncio.run(scenario())


def test_a_follower_loads_for_itself_when_the_leader_is_cancelled() -> None:
    async def scenario() -> None:
        flights = AsyncSingleFlight()
        started = asyncio.Event()

        async def slow() -> str:
            started.set()
            await asyncio.sleep(10)
            return "never"

        async def quick() -> str:
            return "own"

        leader = asyncio.create_task(flights.run("k", slow))
        await started.wait()
        follower = asyncio.create_task(flights.run("k", quick))
        await asyncio.sleep(0)
        leader.cancel()
        assert await follower == ("own", True)

    asyncio.run(scenario())


@pytest.mark.parametrize("kind", ["memory", "redis"])
def test_async_read_through_sends_one_load_for_a_burst(
    kind: str, each_redis: RedisServer, prefix: str
) -> None:
    async def scenario() -> None:
        if kind == "memory":
            store: Any = AsyncMemoryStore(TTL)
        else:
            store = AsyncRedisStore.from_url(each_redis.url, prefix, TTL)
        cache: AsyncReadThrough[bytes] = AsyncReadThrough(store)
        calls = []

        async def load() -> bytes:
            calls.append(1)
            await asyncio.sleep(0.01)
            return b"stats"

        answers = await asyncio.gather(*(cache.get(9, "stats", load) for _ in range(10)))
        assert len(calls) == 1
        assert sorted(source for _, source in answers) == [MISSED] + [SHARED] * 9
        assert await cache.get(9, "stats", load) == (b"stats", HIT)
        await cache.invalidate([9])
        assert (await cache.get(9, "stats", load))[1] == MISSED
        await cache.close()

    asyncio.run(scenario())
