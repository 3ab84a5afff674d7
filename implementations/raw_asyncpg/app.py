"""The FastAPI app: ``async def`` endpoints, run on the event loop."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Response, status

from implementations.contract import http, schemas, stats_cache
from implementations.contract.security import Passwords
from implementations.contract.settings import Settings
from implementations.raw_asyncpg import crud
from implementations.raw_asyncpg.database import ConnectionDep, open_database

NAME = "raw_asyncpg"


router = APIRouter()


@router.get("/health")
async def health(connection: ConnectionDep) -> schemas.Health:
    version = http.postgres_version(await crud.server_version(connection))
    return schemas.Health(status="ok", implementation=NAME, database=version)


# --- users: fixed paths before /users/{user_id}, or "with-tasks" would be read as an id ---


@router.post("/users", status_code=status.HTTP_201_CREATED)
async def create_user(
    connection: ConnectionDep, passwords: http.PasswordsDep, body: schemas.UserCreate
) -> schemas.User:
    return await crud.create_user(connection, passwords, body)  # type: ignore[return-value]


@router.get("/users")
async def list_users(
    connection: ConnectionDep, skip: http.Skip = 0, limit: http.Limit = 100
) -> list[schemas.User]:
    return await crud.list_users(connection, skip, limit)  # type: ignore[return-value]


@router.get("/users/with-tasks")
async def list_users_with_tasks(
    connection: ConnectionDep, skip: http.Skip = 0, limit: http.Limit = 100
) -> list[schemas.UserWithTasks]:
    return await crud.list_users_with_tasks(connection, skip, limit)  # type: ignore[return-value]


@router.get("/users/{user_id}")
async def get_user(connection: ConnectionDep, user_id: http.UserId) -> schemas.User:
    return await crud.get_user(connection, user_id)  # type: ignore[return-value]


@router.patch("/users/{user_id}")
async def update_user(
    connection: ConnectionDep,
    passwords: http.PasswordsDep,
    user_id: http.UserId,
    body: schemas.UserUpdate,
) -> schemas.User:
    return await crud.update_user(connection, passwords, user_id, body)  # type: ignore[return-value]


@router.delete("/users/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_user(connection: ConnectionDep, user_id: http.UserId) -> Response:
    await crud.delete_user(connection, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/users/{user_id}/with-tasks")
async def get_user_with_tasks(
    connection: ConnectionDep, user_id: http.UserId
) -> schemas.UserWithTasks:
    return await crud.get_user_with_tasks(connection, user_id)  # type: ignore[return-value]


@router.get("/users/{user_id}/stats")
async def user_stats(connection: ConnectionDep, user_id: http.UserId) -> schemas.UserStats:
    return await crud.user_stats(connection, user_id)


# --- tasks -------------------------------------------------------------------------------


@router.post("/users/{user_id}/tasks", status_code=status.HTTP_201_CREATED)
async def create_task(
    connection: ConnectionDep, user_id: http.UserId, body: schemas.TaskCreate
) -> schemas.Task:
    return await crud.create_task(connection, user_id, body)  # type: ignore[return-value]


@router.post("/users/{user_id}/tasks/bulk", status_code=status.HTTP_201_CREATED)
async def create_tasks_bulk(
    connection: ConnectionDep, user_id: http.UserId, body: schemas.TaskBulkCreate
) -> schemas.BulkCreated:
    return schemas.BulkCreated(created=await crud.create_tasks_bulk(connection, user_id, body))


@router.get("/users/{user_id}/tasks")
async def list_tasks(
    connection: ConnectionDep,
    user_id: http.UserId,
    completed: http.Completed = None,
    priority_min: http.PriorityMin = None,
    sort_by: http.SortBy = "created_at",
    skip: http.Skip = 0,
    limit: http.Limit = 100,
) -> list[schemas.Task]:
    return await crud.list_tasks(  # type: ignore[return-value]
        connection,
        user_id,
        completed=completed,
        priority_min=priority_min,
        sort_by=sort_by,
        skip=skip,
        limit=limit,
    )


@router.patch("/tasks/bulk")
async def update_tasks_bulk(
    connection: ConnectionDep, body: schemas.TaskBulkUpdate
) -> schemas.BulkUpdated:
    return schemas.BulkUpdated(updated=await crud.update_tasks_bulk(connection, body))


@router.get("/tasks/{task_id}")
async def get_task(connection: ConnectionDep, task_id: http.TaskId) -> schemas.Task:
    return await crud.get_task(connection, task_id)  # type: ignore[return-value]


@router.patch("/tasks/{task_id}")
async def update_task(
    connection: ConnectionDep, task_id: http.TaskId, body: schemas.TaskUpdate
) -> schemas.Task:
    return await crud.update_task(connection, task_id, body)  # type: ignore[return-value]


@router.delete("/tasks/{task_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_task(connection: ConnectionDep, task_id: http.TaskId) -> Response:
    await crud.delete_task(connection, task_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/tasks/{task_id}/transfer")
async def transfer_task(
    connection: ConnectionDep, task_id: http.TaskId, body: schemas.TransferRequest
) -> schemas.Task:
    return await crud.transfer_task(  # type: ignore[return-value]
        connection, task_id, body.from_user_id, body.to_user_id
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app, from ``settings`` or, when none are given, from the environment."""
    settings = settings or Settings()  # type: ignore[call-arg]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.database = await open_database(settings)
        app.state.passwords = Passwords(settings)
        yield
        await app.state.database.close()

    app = FastAPI(title=f"ormbench: {NAME}", lifespan=lifespan)
    http.install(app)
    stats_cache.install(app, settings)
    app.include_router(router)
    return app
