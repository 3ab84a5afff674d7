"""HTTP pieces every app shares: parameter types, error handlers, the X-Query-Count header.

An app calls ``install(app)`` once; its routes use the ``Annotated`` parameter types below,
so paths and query strings are validated identically everywhere.
"""

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from implementations.contract.counting import counting, settle
from implementations.contract.errors import DomainError
from implementations.contract.schemas import MAX_ID, Priority, TaskSort
from implementations.contract.security import Passwords

QUERY_COUNT_HEADER = "X-Query-Count"

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


class QueryCountMiddleware:
    """Counts the statements each request sends and reports them in ``X-Query-Count``.

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
                    message = {**message, "headers": headers}
                await send(message)

            await self.app(scope, receive, send_with_count)


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
        error["input"] = (
            _MASK if "password" in error.get("loc", ()) else _mask_passwords(error["input"])
        )
    if isinstance(error.get("ctx"), dict):
        # A custom validator's ValueError is not JSON; its message already is in "msg".
        error["ctx"] = {
            k: v if isinstance(v, str | int | float) else str(v) for k, v in error["ctx"].items()
        }
    return error


def _encodable(value: Any) -> Any:
    """JSON may carry a lone surrogate (``"\\ud800"``) that UTF-8 cannot: echoed back in a 422
    as its escape text, or rendering the 422 itself would fail with a 500."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
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


def install(app: FastAPI) -> None:
    """Add the contract's error mapping and statement header to ``app``."""
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_middleware(QueryCountMiddleware)


def postgres_version(server_version: str) -> str:
    """'PostgreSQL 18.1' from a ``server_version`` setting such as '18.1 (Debian 18.1-1)'."""
    major_minor = server_version.split()[0]
    return f"PostgreSQL {major_minor}"
