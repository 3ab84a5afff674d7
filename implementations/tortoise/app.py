"""The FastAPI app: ``async def`` endpoints, which run on the event loop."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Response, status
from starlette.types import ASGIApp, Receive, Scope, Send
from tortoise.contrib.fastapi import RegisterTortoise, tortoise_exception_handlers

from implementations.contract import http, schemas, stats_cache
from implementations.contract.security import Passwords
from implementations.contract.settings import Settings
from implementations.tortoise import crud
from implementations.tortoise.database import entered, open_database

NAME = "tortoise"


router = APIRouter()


@router.get("/health")
async def health() -> schemas.Health:
    version = http.postgres_version(await crud.server_version())
    return schemas.Health(status="ok", implementation=NAME, database=version)


# --- users: fixed paths before /users/{user_id}, or "with-tasks" would be read as an id ---


@router.post("/users", status_code=status.HTTP_201_CREATED)
async def create_user(passwords: http.PasswordsDep, body: schemas.UserCreate) -> schemas.User:
    return schemas.User.model_validate(await crud.create_user(passwords, body))


@router.get("/users")
async def list_users(skip: http.Skip = 0, limit: http.Limit = 100) -> list[schemas.User]:
    return [schemas.User.model_validate(user) for user in await crud.list_users(skip, limit)]


@router.get("/users/with-tasks")
async def list_users_with_tasks(
    skip: http.Skip = 0, limit: http.Limit = 100
) -> list[schemas.UserWithTasks]:
    users = await crud.list_users_with_tasks(skip, limit)
    return [schemas.UserWithTasks.model_validate(user) for user in users]


@router.get("/users/{user_id}")
async def get_user(user_id: http.UserId) -> schemas.User:
    return schemas.User.model_validate(await crud.get_user(user_id))


@router.patch("/users/{user_id}")
async def update_user(
    passwords: http.PasswordsDep, user_id: http.UserId, body: schemas.UserUpdate
) -> schemas.User:
    return schemas.User.model_validate(await crud.update_user(passwords, user_id, body))


@router.delete("/users/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_user(user_id: http.UserId) -> Response:
    await crud.delete_user(user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/users/{user_id}/with-tasks")
async def get_user_with_tasks(user_id: http.UserId) -> schemas.UserWithTasks:
    return schemas.UserWithTasks.model_validate(await crud.get_user_with_tasks(user_id))


@router.get("/users/{user_id}/stats")
async def user_stats(user_id: http.UserId) -> schemas.UserStats:
    return await crud.user_stats(user_id)


# --- tasks -------------------------------------------------------------------------------


@router.post("/users/{user_id}/tasks", status_code=status.HTTP_201_CREATED)
async def create_task(user_id: http.UserId, body: schemas.TaskCreate) -> schemas.Task:
    return schemas.Task.model_validate(await crud.create_task(user_id, body))


@router.post("/users/{user_id}/tasks/bulk", status_code=status.HTTP_201_CREATED)
async def create_tasks_bulk(
    user_id: http.UserId, body: schemas.TaskBulkCreate
) -> schemas.BulkCreated:
    return schemas.BulkCreated(created=await crud.create_tasks_bulk(user_id, body))


@router.get("/users/{user_id}/tasks")
async def list_tasks(
    user_id: http.UserId,
    completed: http.Completed = None,
    priority_min: http.PriorityMin = None,
    sort_by: http.SortBy = "created_at",
    skip: http.Skip = 0,
    limit: http.Limit = 100,
) -> list[schemas.Task]:
    tasks = await crud.list_tasks(
        user_id,
        completed=completed,
        priority_min=priority_min,
        sort_by=sort_by,
        skip=skip,
        limit=limit,
    )
    return [schemas.Task.model_validate(task) for task in tasks]


@router.patch("/tasks/bulk")
async def update_tasks_bulk(body: schemas.TaskBulkUpdate) -> schemas.BulkUpdated:
    return schemas.BulkUpdated(updated=await crud.update_tasks_bulk(body))


@router.get("/tasks/{task_id}")
async def get_task(task_id: http.TaskId) -> schemas.Task:
    return schemas.Task.model_validate(await crud.get_task(task_id))


@router.patch("/tasks/{task_id}")
async def update_task(task_id: http.TaskId, body: schemas.TaskUpdate) -> schemas.Task:
    return schemas.Task.model_validate(await crud.update_task(task_id, body))


@router.delete("/tasks/{task_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_task(task_id: http.TaskId) -> Response:
    await crud.delete_task(task_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/tasks/{task_id}/transfer")
async def transfer_task(task_id: http.TaskId, body: schemas.TransferRequest) -> schemas.Task:
    task = await crud.transfer_task(task_id, body.from_user_id, body.to_user_id)
    return schemas.Task.model_validate(task)


def use_tortoise_context(app: ASGIApp) -> ASGIApp:
    """Run each request in this app's own TortoiseContext.

    RegisterTortoise can instead make its context a process-wide fallback, which requests in
    other tasks than the lifespan's would find; but then only one Tortoise app can run in a
    process, and the parity test and the benchmark engine hold several. RegisterTortoise
    leaves the context on ``app.state._tortoise_context`` for exactly this use.
    """

    async def with_context(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await app(scope, receive, send)
            return
        with entered(scope["app"].state._tortoise_context):
            await app(scope, receive, send)

    return with_context


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app, from ``settings`` or, when none are given, from the environment."""
    settings = settings or Settings()  # type: ignore[call-arg]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = open_database(settings)
        # Never generate_schemas: the tables exist already (docs/schema.md).
        async with RegisterTortoise(app, config=database.config, _enable_global_fallback=False):
            app.state.database = database
            app.state.passwords = Passwords(settings)
            yield

    # Tortoise's handlers are a safety net (404 for DoesNotExist, 422 for an IntegrityError
    # crud does not expect); crud raises the contract's own errors for every expected case.
    app = FastAPI(
        title=f"ormbench: {NAME}",
        lifespan=lifespan,
        exception_handlers=tortoise_exception_handlers(),
    )
    http.install(app)
    stats_cache.install(app, settings)
    app.add_middleware(use_tortoise_context)  # type: ignore[arg-type]
    app.include_router(router)
    return app
