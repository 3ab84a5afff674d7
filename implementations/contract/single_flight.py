"""The single-flight guard: concurrent calls with one key run the function once, and the
others wait for its result, so that many misses of one cache entry send one query, not one
each (a cache stampede). One for threads (sync code on a threadpool), one for tasks on an
event loop. Used by ``cache.py``'s read-throughs.
"""

import asyncio
import threading
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass
class _Flight:
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: BaseException | None = None


class SingleFlight:
    """Concurrent calls with one key run the function once; the others wait for its result
    (threads). ``cachetools.cached(..., condition=...)`` does the same for a decorated
    function; this one guards a load whose key is known only at the call."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.flights: dict[Hashable, _Flight] = {}

    def run(self, key: Hashable, function: Callable[[], T]) -> tuple[T, bool]:
        """``(result, True)`` for the call that ran ``function``, ``(its result, False)`` for
        those that waited for it."""
        with self.lock:
            flight = self.flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self.flights[key] = _Flight()
        if not leader:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            return flight.result, False
        try:
            flight.result = function()
            return flight.result, True
        except BaseException as exc:
            flight.error = exc
            raise
        finally:
            with self.lock:
                del self.flights[key]
            flight.done.set()


class AsyncSingleFlight:
    """The same for tasks on one event loop. A follower whose leader was cancelled (its
    client went away) loads for itself rather than failing with it."""

    def __init__(self) -> None:
        self.flights: dict[Hashable, asyncio.Future[Any]] = {}

    async def run(self, key: Hashable, function: Callable[[], Awaitable[T]]) -> tuple[T, bool]:
        while (flight := self.flights.get(key)) is not None:
            try:
                return await asyncio.shield(flight), False
            except asyncio.CancelledError:
                if not flight.cancelled():
                    raise  # this task itself was cancelled
        flight = self.flights[key] = asyncio.get_running_loop().create_future()
        try:
            result = await function()
        except asyncio.CancelledError:
            flight.cancel()
            raise
        except BaseException as exc:
            flight.set_exception(exc)
            flight.exception()  # retrieved: no "never retrieved" warning without followers
            raise
        else:
            flight.set_result(result)
            return result, True
        finally:
            del self.flights[key]
