"""The FastAPI app: ``def`` endpoints, which FastAPI runs in its threadpool."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Response, status

from implementations.contract import http, schemas, stats_cache
from implementations.contract.security import Passwords
from implementations.contract.settings import Settings
from implementations.sync_sqlalchemy import crud
from implementations.sync_sqlalchemy.database import SessionDep, open_database

NAME = "sync_sqlalchemy"


router = APIRouter()


@router.get("/health")
def health(session: SessionDep) -> schemas.Health:
    version = http.postgres_version(crud.server_version(session))
    return schemas.Health(status="ok", implementation=NAME, database=version)


# --- users: fixed paths before /users/{user_id}, or "with-tasks" would be read as an id ---


@router.post("/users", status_code=status.HTTP_201_CREATED)
def create_user(
    session: SessionDep, passwords: http.PasswordsDep, body: schemas.UserCreate
) -> schemas.User:
    return crud.create_user(session, passwords, body)  # type: ignore[return-value]


@router.get("/users")
def list_users(
    session: SessionDep, skip: http.Skip = 0, limit: http.Limit = 100
) -> list[schemas.User]:
    return crud.list_users(session, skip, limit)  # type: ignore[return-value]


@router.get("/users/with-tasks")
def list_users_with_tasks(
    session: SessionDep, skip: http.Skip = 0, limit: http.Limit = 100
) -> list[schemas.UserWithTasks]:
    return crud.list_users_with_tasks(session, skip, limit)  # type: ignore[return-value]


@router.get("/users/{user_id}")
def get_user(session: SessionDep, user_id: http.UserId) -> schemas.User:
    return crud.get_user(session, user_id)  # type: ignore[return-value]


@router.patch("/users/{user_id}")
def update_user(
    session: SessionDep,
    passwords: http.PasswordsDep,
    user_id: http.UserId,
    body: schemas.UserUpdate,
) -> schemas.User:
    return crud.update_user(session, passwords, user_id, body)  # type: ignore[return-value]


@router.delete("/users/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_user(session: SessionDep, user_id: http.UserId) -> Response:
    crud.delete_user(session, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/users/{user_id}/with-tasks")
def get_user_with_tasks(session: SessionDep, user_id: http.UserId) -> schemas.UserWithTasks:
    return crud.get_user_with_tasks(session, user_id)  # type: ignore[return-value]


@router.get("/users/{user_id}/stats")
def user_stats(session: SessionDep, user_id: http.UserId) -> schemas.UserStats:
    return crud.user_stats(session, user_id)


# --- tasks -------------------------------------------------------------------------------


@router.post("/users/{user_id}/tasks", status_code=status.HTTP_201_CREATED)
def create_task(
    session: SessionDep, user_id: http.UserId, body: schemas.TaskCreate
) -> schemas.Task:
    return crud.create_task(session, user_id, body)  # type: ignore[return-value]


@router.post("/users/{user_id}/tasks/bulk", status_code=status.HTTP_201_CREATED)
def create_tasks_bulk(
    session: SessionDep, user_id: http.UserId, body: schemas.TaskBulkCreate
) -> schemas.BulkCreated:
    return schemas.BulkCreated(created=crud.create_tasks_bulk(session, user_id, body))


@router.get("/users/{user_id}/tasks")
def list_tasks(
    session: SessionDep,
    user_id: http.UserId,
    completed: http.Completed = None,
    priority_min: http.PriorityMin = None,
    sort_by: http.SortBy = "created_at",
    skip: http.Skip = 0,
    limit: http.Limit = 100,
) -> list[schemas.Task]:
    return crud.list_tasks(  # type: ignore[return-value]
        session,
        user_id,
        completed=completed,
        priority_min=priority_min,
        sort_by=sort_by,
        skip=skip,
        limit=limit,
    )


@router.patch("/tasks/bulk")
def update_tasks_bulk(session: SessionDep, body: schemas.TaskBulkUpdate) -> schemas.BulkUpdated:
    return schemas.BulkUpdated(updated=crud.update_tasks_bulk(session, body))


@router.get("/tasks/{task_id}")
def get_task(session: SessionDep, task_id: http.TaskId) -> schemas.Task:
    return crud.get_task(session, task_id)  # type: ignore[return-value]


@router.patch("/tasks/{task_id}")
def update_task(
    session: SessionDep, task_id: http.TaskId, body: schemas.TaskUpdate
) -> schemas.Task:
    return crud.update_task(session, task_id, body)  # type: ignore[return-value]


@router.delete("/tasks/{task_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_task(session: SessionDep, task_id: http.TaskId) -> Response:
    crud.delete_task(session, task_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/tasks/{task_id}/transfer")
def transfer_task(
    session: SessionDep, task_id: http.TaskId, body: schemas.TransferRequest
) -> schemas.Task:
    return crud.transfer_task(  # type: ignore[return-value]
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
        app.state.database.close()

    app = FastAPI(title=f"ormbench: {NAME}", lifespan=lifespan)
    http.install(app)
    stats_cache.install(app, settings)
    app.include_router(router)
    return app
