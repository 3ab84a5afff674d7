"""HTTP pieces every app shares: parameter types, error handlers, the X-Query-Count header.

An app calls ``install(app)`` once; its routes use the ``Annotated`` parameter types below,
so paths and query strings are validated identically everywhere.
"""

import json
import math
import random
from typing import Annotated, Any

import anyio
from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from implementations.contract.counting import counting, settle
from implementations.contract.errors import DomainError
from implementations.contract.schemas import MAX_ID, Error, Priority, TaskSort
from implementations.contract.security import Passwords

QUERY_COUNT_HEADER = "X-Query-Count"
ROUND_TRIPS_HEADER = "X-Round-Trips"

UserId = Annotated[int, Path(ge=1, le=MAX_ID)]
TaskId = Annotated[int, Path(ge=1, le=MAX_ID)]
Skip = Annotated[int, Query(ge=0, le=MAX_ID)]
Limit = Annotated[int, Query(ge=1, le=100)]
Completed = Annotated[bool | None, Query()]
PriorityMin = Annotated[Priority | None, Query()]
SortBy = Annotated[TaskSort, Query()]


def _passwords(request: Request) -> Passwords:
    return request.app.state.passwords  # every app's lifespan builds one from its settings


PasswordsDep = Annotated[Passwords, Depends(_passwords)]

_MASK = "**********"

# FastAPI's answer when the body cannot be read as JSON for any reason but a syntax error.
_BODY_NOT_READ = "There was an error parsing the body"

# The 404s and 409s of the contract table, by route. FastAPI documents a route's success and
# its 422 only; without these the OpenAPI would hide answers a client must expect.
ERROR_STATUSES: dict[tuple[str, str], tuple[int, ...]] = {
    ("post", "/users"): (409,),
    ("get", "/users/{user_id}"): (404,),
    ("patch", "/users/{user_id}"): (404, 409),
    ("delete", "/users/{user_id}"): (404,),
    ("get", "/users/{user_id}/with-tasks"): (404,),
    ("get", "/users/{user_id}/stats"): (404,),
    ("post", "/users/{user_id}/tasks"): (404, 409),
    ("post", "/users/{user_id}/tasks/bulk"): (404, 409),
    ("get", "/users/{user_id}/tasks"): (404,),
    ("patch", "/tasks/bulk"): (404,),
    ("get", "/tasks/{task_id}"): (404,),
    ("patch", "/tasks/{task_id}"): (404, 409),
    ("delete", "/tasks/{task_id}"): (404,),
    ("post", "/tasks/{task_id}/transfer"): (404, 409),
}
_DESCRIPTIONS = {404: "Not Found", 409: "Conflict"}

# SQLSTATEs after which PostgreSQL has rolled the whole transaction back and the manual's
# advice is to run it again: deadlock_detected and serialization_failure.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})
ATTEMPTS = 5  # a victim can be chosen again while the same requests still run


class QueryCountMiddleware:
    """Counts the statements each request sends and reports them in ``X-Query-Count``, and
    every exchange with the server it caused (transaction control, pings and pool resets
    too) in ``X-Round-Trips``.

    Pure ASGI rather than ``BaseHTTPMiddleware``: the endpoint (and, for ``def`` endpoints,
    its threadpool worker) runs in this context, so the driver hooks find the counter.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with counting() as counter:

            async def send_with_count(message: Message) -> None:
                if message["type"] == "http.response.start":
                    await settle()  # asyncpg's query loggers run one loop turn late
                    headers = list(message.get("headers", []))
                    headers.append((b"x-query-count", str(counter.statements).encode()))
                    headers.append((b"x-round-trips", str(counter.round_trips).encode()))
                    message = {**message, "headers": headers}
                await send(message)

            await self.app(scope, receive, send_with_count)


def _sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE behind ``exc``, however a driver or ORM wrapped it: psycopg2 calls it
    ``pgcode``, asyncpg ``sqlstate``; SQLAlchemy keeps the driver's error as ``orig``, Tortoise
    as the cause."""
    pending: list[Any] = [exc]
    seen: set[int] = set()
    while pending:
        error = pending.pop()
        if not isinstance(error, BaseException) or id(error) in seen:
            continue
        seen.add(id(error))
        code = getattr(error, "pgcode", None) or getattr(error, "sqlstate", None)
        if isinstance(code, str):
            return code
        pending += [getattr(error, "orig", None), error.__cause__, error.__context__]
    return None


async def _buffered(receive: Receive) -> list[Message]:
    messages = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            return messages


def _replay(body: list[Message], receive: Receive) -> Receive:
    messages = iter(body)

    async def receive_again() -> Message:
        return next(messages, None) or await receive()

    return receive_again


class _NotingStart:
    """A ``send`` that notes whether the response has begun: then it cannot be run again."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        self.started = self.started or message["type"] == "http.response.start"
        await self.send(message)


class RetryMiddleware:
    """Runs a request again when PostgreSQL made its transaction a deadlock's victim.

    Concurrent user deletes, bulk updates and transfers can lock the same rows in different
    orders (an ON DELETE action locks rows in whatever order it finds them), and PostgreSQL
    breaks such a cycle by aborting one transaction, rolled back whole. Every request writes
    in at most one transaction, so running it again is safe; a 500 would not be. The body is
    kept to be replayed, and the statements of every attempt are counted.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = await _buffered(receive)
        for attempt in range(1, ATTEMPTS + 1):
            sent = _NotingStart(send)
            try:
                await self.app(dict(scope), _replay(body, receive), sent)
                return
            except Exception as exc:
                retry = not sent.started and _sqlstate(exc) in RETRYABLE_SQLSTATES
                if not retry or attempt == ATTEMPTS:
                    raise
            # A moment's jittered pause, so the retry does not walk into the same cycle.
            await anyio.sleep(random.uniform(0, 0.05 * attempt))


def _mask_passwords(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _MASK if k == "password" else _mask_passwords(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_passwords(v) for v in value]
    return value


def _scrub(error: dict[str, Any]) -> dict[str, Any]:
    """FastAPI's error shape, with any password the client sent masked out of ``input``."""
    error = dict(error)
    if "input" in error:
        # Raw bytes are a body not sent as JSON: it may hold a password in any shape, and may
        # not even be UTF-8 (which the response could not render), so it is never echoed.
        secret = "password" in error.get("loc", ()) or isinstance(error["input"], bytes)
        error["input"] = _MASK if secret else _mask_passwords(error["input"])
    if isinstance(error.get("ctx"), dict):
        # A custom validator's ValueError is not JSON; its message already is in "msg".
        error["ctx"] = {
            k: v if isinstance(v, str | int | float) else str(v) for k, v in error["ctx"].items()
        }
    return error


def _encodable(value: Any) -> Any:
    """JSON may carry a lone surrogate (``"\\ud800"``) that UTF-8 cannot, and Python's parser
    reads NaN, Infinity and 1e400 that strict JSON cannot: echoed back in a 422 as text, or
    rendering the 422 itself would fail with a 500."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, float) and not math.isfinite(value):
        return json.dumps(value)  # "NaN", "Infinity", "-Infinity"
    if isinstance(value, dict):
        return {_encodable(k): _encodable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encodable(v) for v in value]
    return value


async def _domain_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [_scrub(error) for error in exc.errors()]
    return JSONResponse({"detail": _encodable(jsonable_encoder(errors))}, status_code=422)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == _BODY_NOT_READ:
        # Bytes that are not UTF-8, a number past Python's 4300 digits, nesting past the
        # recursion limit: a body that is not JSON, the same 422 as one with a syntax error.
        cause = str(exc.__cause__ or "unreadable body")
        error = {"type": "json_invalid", "loc": ("body",), "msg": "JSON decode error"}
        invalid = RequestValidationError([{**error, "input": {}, "ctx": {"error": cause}}])
        return await _validation_error(request, invalid)
    return await http_exception_handler(request, exc)


def _document_errors(app: FastAPI) -> None:
    """Add ``ERROR_STATUSES`` to the OpenAPI that FastAPI generates (once, on first use)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = (
            Error.model_json_schema()
        )
        content = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        for (method, path), statuses in ERROR_STATUSES.items():
            operation = schema["paths"][path][method]
            responses = operation["responses"]
            for status in statuses:
                responses[str(status)] = {"description": _DESCRIPTIONS[status], "content": content}
            operation["responses"] = dict(sorted(responses.items()))
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI) -> None:
    """Add the contract's error mapping, documented error answers and statement header."""
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_middleware(RetryMiddleware)
    app.add_middleware(QueryCountMiddleware)  # added last, so outermost: counts every attempt
    _document_errors(app)


def postgres_version(server_version: str) -> str:
    """'PostgreSQL 18.1' from a ``server_version`` setting such as '18.1 (Debian 18.1-1)'."""
    major_minor = server_version.split()[0]
    return f"PostgreSQL {major_minor}"
