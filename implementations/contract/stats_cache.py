"""``ORMBENCH_CACHE=memory|redis``: the API caches ``GET /users/{id}/stats``, the same way in
every implementation, and drops a user's entry on every write that changes that user's stats.

One ASGI middleware, added by ``install(app, settings)`` (nothing at all with the default
``none``). It is the innermost of the contract's middleware, so a hit is answered inside
``QueryCountMiddleware``: ``X-Query-Count: 0``, ``X-Round-Trips: 0``, and ``X-Cache: hit``
(``miss`` when it queried, ``shared`` when it waited for a concurrent miss of the same user:
concurrent misses send one query, not one each). Only a 200 is stored: its body, as the app
wrote it, so a cached answer is byte for byte the uncached one.

Which writes change whose stats, and how the middleware learns the users (``WRITES``):

| write | users |
|---|---|
| ``POST /users/{id}/tasks``, ``.../tasks/bulk``, ``DELETE /users/{id}`` | the path's id |
| ``PATCH /tasks/{id}`` | the answer's ``user_id`` (a PATCH cannot move a task) |
| ``POST /tasks/{id}/transfer`` | the body's ``from_user_id`` and ``to_user_id`` |
| ``DELETE /tasks/{id}`` (a 204) and ``PATCH /tasks/bulk`` (task ids) | unknown: every entry |

The last two name no user, and learning the owners would cost a query the uncached API does
not send; so they drop the whole namespace (one generation bump, ``cache.py``). That is
always correct, and costs hit ratio only where such writes are frequent. A 4xx changed
nothing (the contract's writes are all or nothing) and invalidates nothing; any other answer,
or an exception, invalidates, since the write may have committed. Invalidation happens after
the endpoint returned (its transaction committed) and before the client sees the answer, so
a read sent after a write's response never gets the old stats.
"""

import json
import re
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from implementations.contract.cache import (
    AsyncMemoryStore,
    AsyncReadThrough,
    AsyncRedisStore,
)
from implementations.contract.schemas import MAX_ID
from implementations.contract.settings import Settings

CACHE_HEADER = "X-Cache"
ENTRY = "stats"
STATS_PATH = re.compile(r"/users/([0-9]+)/stats")


@dataclass(frozen=True)
class Write:
    method: str
    path: re.Pattern[str]
    users: str  # where the changed users are found: path, response, request, or all


WRITES = (
    Write("POST", re.compile(r"/users/([0-9]+)/tasks(?:/bulk)?"), "path"),
    Write("DELETE", re.compile(r"/users/([0-9]+)"), "path"),
    Write("PATCH", re.compile(r"/tasks/bulk"), "all"),
    Write("PATCH", re.compile(r"/tasks/([0-9]+)"), "response"),
    Write("POST", re.compile(r"/tasks/([0-9]+)/transfer"), "request"),
    Write("DELETE", re.compile(r"/tasks/([0-9]+)"), "all"),
)


def open_cache(settings: Settings) -> AsyncReadThrough[bytes] | None:
    """The app's cache of stats answers, or None when ``settings.cache`` is ``none``."""
    if settings.cache == "none":
        return None
    if settings.cache == "memory":
        return AsyncReadThrough(AsyncMemoryStore(settings.cache_ttl))
    assert settings.redis_url is not None  # Settings refuses cache=redis without it
    prefix = f"{settings.cache_prefix}:api"
    return AsyncReadThrough(
        AsyncRedisStore.from_url(settings.redis_url, prefix, settings.cache_ttl)
    )


class _Refused(Exception):
    """An answer that is not stored (not a 200): sent as it is, to whoever waited for it."""

    def __init__(self, messages: list[Message]) -> None:
        self.messages = messages


class _Recorder:
    """A ``send`` that keeps the response instead of sending it."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def __call__(self, message: Message) -> None:
        self.messages.append(message)

    @property
    def status(self) -> int:
        return next(m["status"] for m in self.messages if m["type"] == "http.response.start")

    @property
    def body(self) -> bytes:
        return b"".join(
            m.get("body", b"") for m in self.messages if m["type"] == "http.response.body"
        )


def _with_header(messages: list[Message], value: str) -> list[Message]:
    header = (CACHE_HEADER.lower().encode(), value.encode())
    return [
        {**m, "headers": [*m.get("headers", []), header]}
        if m["type"] == "http.response.start"
        else m
        for m in messages
    ]


def _cached_answer(body: bytes, source: str) -> list[Message]:
    headers = [
        (b"content-length", str(len(body)).encode()),
        (b"content-type", b"application/json"),
        (CACHE_HEADER.lower().encode(), source.encode()),
    ]
    return [
        {"type": "http.response.start", "status": 200, "headers": headers},
        {"type": "http.response.body", "body": body},
    ]


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def changed_users(
    write: Write, match: re.Match[str], request: bytes, response: bytes
) -> list[int] | None:
    """The users whose stats ``write`` may have changed; None when they are not known."""
    if write.users == "path":
        return [int(match[1])]
    found = _json(response if write.users == "response" else request)
    names = ("user_id",) if write.users == "response" else ("from_user_id", "to_user_id")
    if not isinstance(found, dict):
        return None
    users = [found.get(name) for name in names]
    if all(isinstance(u, int) and not isinstance(u, bool) for u in users):
        return users  # type: ignore[return-value]
    return None


class StatsCacheMiddleware:
    """See the module docstring. Opens its cache at the app's startup (a Redis that does not
    answer fails the startup, not the first request) and closes it at shutdown."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.cache: AsyncReadThrough[bytes] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, self._lifespan(scope, receive), send)
            return
        if scope["type"] != "http" or self.cache is None:
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        read = STATS_PATH.fullmatch(path) if method == "GET" else None
        if read is not None and 1 <= int(read[1]) <= MAX_ID:
            await self._read(self.cache, int(read[1]), scope, receive, send)
            return
        for write in WRITES:
            if write.method == method and (match := write.path.fullmatch(path)):
                await self._write(self.cache, write, match, scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _lifespan(self, scope: Scope, receive: Receive) -> Receive:
        async def receive_and_manage() -> Message:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.cache = open_cache(self.settings)
                if self.cache is not None and isinstance(self.cache.store, AsyncRedisStore):
                    await self.cache.store.client.ping()
                scope["app"].state.stats_cache = self.cache
            elif message["type"] == "lifespan.shutdown" and self.cache is not None:
                await self.cache.close()
                self.cache = None
            return message

        return receive_and_manage

    async def _read(
        self,
        cache: AsyncReadThrough[bytes],
        user_id: int,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        async def load() -> bytes:
            recorder = _Recorder()
            await self.app(scope, receive, recorder)
            if recorder.status != 200:
                raise _Refused(recorder.messages)
            return recorder.body

        try:
            body, source = await cache.get(user_id, ENTRY, load)
        except _Refused as refused:  # a 404 or a 422: passed on, never stored
            for message in _with_header(refused.messages, "miss"):
                await send(message)
            return
        for message in _cached_answer(body, source):
            await send(message)

    async def _write(
        self,
        cache: AsyncReadThrough[bytes],
        write: Write,
        match: re.Match[str],
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        request: list[bytes] = []

        async def receive_and_keep() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                request.append(message.get("body", b""))
            return message

        recorder = _Recorder()
        try:
            await self.app(scope, receive_and_keep, recorder)
        except BaseException:
            await self._invalidate(cache, write, match, b"".join(request), b"")
            raise
        if not 400 <= recorder.status < 500:  # a 4xx changed nothing
            await self._invalidate(cache, write, match, b"".join(request), recorder.body)
        for message in recorder.messages:
            await send(message)

    @staticmethod
    async def _invalidate(
        cache: AsyncReadThrough[bytes],
        write: Write,
        match: re.Match[str],
        request: bytes,
        response: bytes,
    ) -> None:
        users = changed_users(write, match, request, response)
        if users is None:
            await cache.invalidate_all()
        else:
            await cache.invalidate(users)


def install(app: FastAPI, settings: Settings) -> None:
    """Cache ``GET /users/{id}/stats`` as ``settings.cache`` says; with ``none``, add nothing.

    Appended, not ``add_middleware``'d (which puts a middleware outermost): innermost, so the
    statement counter and the deadlock retry stay around it, whatever the order of calls."""
    if settings.cache != "none":
        app.user_middleware.append(Middleware(StatsCacheMiddleware, settings=settings))
