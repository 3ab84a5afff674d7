"""The FastAPI app: ``async def`` endpoints, which FastAPI runs on the event loop."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Response, status

from implementations.async_sqlalchemy import crud
from implementations.async_sqlalchemy.database import SessionDep, open_database
from implementations.contract import http, schemas, stats_cache
from implementations.contract.security import Passwords
from implementations.contract.settings import Settings

NAME = "async_sqlalchemy"


router = APIRouter()


@router.get("/health")
async def health(session: SessionDep) -> schemas.Health:
    version = http.postgres_version(await crud.server_version(session))
    return schemas.Health(status="ok", implementation=NAME, database=version)


# --- users: fixed paths before /users/{user_id}, or "with-tasks" would be read as an id ---


@router.post("/users", status_code=status.HTTP_201_CREATED)
async def create_user(
    session: SessionDep, passwords: http.PasswordsDep, body: schemas.UserCreate
) -> schemas.User:
    return await crud.create_user(session, passwords, body)  # type: ignore[return-value]


@router.get("/users")
async def list_users(
    session: SessionDep, skip: http.Skip = 0, limit: http.Limit = 100
) -> list[schemas.User]:
    return await crud.list_users(session, skip, limit)  # type: ignore[return-value]


@router.get("/users/with-tasks")
async def list_users_with_tasks(
    session: SessionDep, skip: http.Skip = 0, limit: http.Limit = 100
) -> list[schemas.UserWithTasks]:
    return await crud.list_users_with_tasks(session, skip, limit)  # type: ignore[return-value]


@router.get("/users/{user_id}")
async def get_user(session: SessionDep, user_id: http.UserId) -> schemas.User:
    return await crud.get_user(session, user_id)  # type: ignore[return-value]


@router.patch("/users/{user_id}")
async def update_user(
    session: SessionDep,
    passwords: http.PasswordsDep,
    user_id: http.UserId,
    body: schemas.UserUpdate,
) -> schemas.User:
    return await crud.update_user(session, passwords, user_id, body)  # type: ignore[return-value]


@router.delete("/users/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_user(session: SessionDep, user_id: http.UserId) -> Response:
    await crud.delete_user(session, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/users/{user_id}/with-tasks")
async def get_user_with_tasks(session: SessionDep, user_id: http.UserId) -> schemas.UserWithTasks:
    return await crud.get_user_with_tasks(session, user_id)  # type: ignore[return-value]


@router.get("/users/{user_id}/stats")
async def user_stats(session: SessionDep, user_id: http.UserId) -> schemas.UserStats:
    return await crud.user_stats(session, user_id)


# --- tasks -------------------------------------------------------------------------------


@router.post("/users/{user_id}/tasks", status_code=status.HTTP_201_CREATED)
async def create_task(
    session: SessionDep, user_id: http.UserId, body: schemas.TaskCreate
) -> schemas.Task:
    return await crud.create_task(session, user_id, body)  # type: ignore[return-value]


@router.post("/users/{user_id}/tasks/bulk", status_code=status.HTTP_201_CREATED)
async def create_tasks_bulk(
    session: SessionDep, user_id: http.UserId, body: schemas.TaskBulkCreate
) -> schemas.BulkCreated:
    return schemas.BulkCreated(created=await crud.create_tasks_bulk(session, user_id, body))


@router.get("/users/{user_id}/tasks")
async def list_tasks(
    session: SessionDep,
    user_id: http.UserId,
    completed: http.Completed = None,
    priority_min: http.PriorityMin = None,
    sort_by: http.SortBy = "created_at",
    skip: http.Skip = 0,
    limit: http.Limit = 100,
) -> list[schemas.Task]:
    return await crud.list_tasks(  # type: ignore[return-value]
        session,
        user_id,
        completed=completed,
        priority_min=priority_min,
        sort_by=sort_by,
        skip=skip,
        limit=limit,
    )


@router.patch("/tasks/bulk")
async def update_tasks_bulk(
    session: SessionDep, body: schemas.TaskBulkUpdate
) -> schemas.BulkUpdated:
    return schemas.BulkUpdated(updated=await crud.update_tasks_bulk(session, body))


@router.get("/tasks/{task_id}")
async def get_task(session: SessionDep, task_id: http.TaskId) -> schemas.Task:
    return await crud.get_task(session, task_id)  # type: ignore[return-value]


@router.patch("/tasks/{task_id}")
async def update_task(
    session: SessionDep, task_id: http.TaskId, body: schemas.TaskUpdate
) -> schemas.Task:
    return await crud.update_task(session, task_id, body)  # type: ignore[return-value]


@router.delete("/tasks/{task_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_task(session: SessionDep, task_id: http.TaskId) -> Response:
    await crud.delete_task(session, task_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/tasks/{task_id}/transfer")
async def transfer_task(
    session: SessionDep, task_id: http.TaskId, body: schemas.TransferRequest
) -> schemas.Task:
    return await crud.transfer_task(  # type: ignore[return-value]
        session, task_id, body.from_user_id, body.to_user_id
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app, from ``settings`` or, when none are given, from the environment."""
    settings = settings or Settings()  # type: ignore[call-arg]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.database = open_database(settings)
        app.state.passwords = Passwords(settings)
        yield
        await app.state.database.close()

    app = FastAPI(title=f"ormbench: {NAME}", lifespan=lifespan)
    http.install(app)
    stats_cache.install(app, settings)
    app.include_router(router)
    return app
