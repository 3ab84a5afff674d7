"""Pydantic v2 models for every request and response body of the API contract.

Validation lives here, once, so a 422 is identical whichever implementation answers it.
"""

from datetime import UTC, datetime
from typing import Annotated, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    model_validator,
)

MAX_ID = 2_147_483_647  # PostgreSQL integer; a larger id must be a 422, never a database error
MAX_BULK = 10_000


def _storable(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and a lone surrogate cannot be encoded as UTF-8: both
    # would fail inside the driver (a 500) unless refused here.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (no lone surrogates)") from None
    return value


def _integral(value: object) -> object:
    # JSON Schema (and so the OpenAPI) counts 2.0 as an integer; strict models would not.
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _lower(value: str) -> str:
    return value.lower()


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


# The OpenAPI cannot say "no NUL" and "no lone surrogate"; the NUL half it can, so generated
# clients and fuzzers learn it. Documentation only: _storable does the refusing.
_NO_NUL = Field(json_schema_extra={"pattern": "^[^\\x00]*$"})

Id = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(_integral)]
# 254: the most email-validator accepts (RFC 5321), so the OpenAPI promises no more.
Email = Annotated[EmailStr, AfterValidator(_lower), Field(max_length=254)]
Username = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{3,50}$")]
Password = Annotated[str, Field(min_length=8, max_length=128), _NO_NUL, AfterValidator(_storable)]
Title = Annotated[str, Field(min_length=1, max_length=255), _NO_NUL, AfterValidator(_storable)]
Description = Annotated[str, Field(max_length=10_000), _NO_NUL, AfterValidator(_storable)]
Priority = Annotated[int, Field(ge=0, le=5), BeforeValidator(_integral)]
UtcDatetime = Annotated[datetime, AfterValidator(_utc)]
TaskSort = Literal["created_at", "priority", "title"]


class _Input(BaseModel):
    # Strict: a body must have the JSON types its schema publishes. Lax mode would store
    # "priority": true as 1 and "completed": "no" as false, accepting what the contract calls
    # invalid. (Query strings are text; their parameters in http.py stay lax.)
    model_config = ConfigDict(extra="forbid", strict=True)


class _Patch(_Input):
    """A partial update: absent fields stay as they are; an explicit null is refused unless
    the field is listed in ``_nullable`` (a null would otherwise reach a NOT NULL column)."""

    _nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _refuse_nulls(cls, data: object) -> object:
        if isinstance(data, dict):
            nulls = sorted(k for k, v in data.items() if v is None and k not in cls._nullable)
            if nulls:
                raise ValueError(f"may not be null: {', '.join(nulls)}")
        return data


class _Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- users -------------------------------------------------------------------------------


class UserCreate(_Input):
    email: Email
    username: Username
    password: Password


class UserUpdate(_Patch):
    """Any subset of the fields; an explicit null is refused for every one of them."""

    email: Email = None  # type: ignore[assignment]
    username: Username = None  # type: ignore[assignment]
    password: Password = None  # type: ignore[assignment]
    is_active: bool = None  # type: ignore[assignment]


class User(_Output):
    id: int
    email: str
    username: str
    is_active: bool
    created_at: UtcDatetime
    updated_at: UtcDatetime | None


class UserStats(BaseModel):
    total: int
    completed: int
    pending: int
    avg_priority: float


# --- tasks -------------------------------------------------------------------------------


class TaskCreate(_Input):
    title: Title
    description: Description | None = None
    priority: Priority = 0
    completed: bool = False


class TaskUpdate(_Patch):
    """Any subset of the fields; only ``description`` may be set to null."""

    title: Title = None  # type: ignore[assignment]
    description: Description | None = None
    priority: Priority = None  # type: ignore[assignment]
    completed: bool = None  # type: ignore[assignment]

    _nullable: ClassVar[frozenset[str]] = frozenset({"description"})


class TaskBulkUpdateItem(_Patch):
    id: Id
    completed: bool = None  # type: ignore[assignment]
    priority: Priority = None  # type: ignore[assignment]


def _unique_ids(items: list[TaskBulkUpdateItem]) -> list[TaskBulkUpdateItem]:
    ids = [item.id for item in items]
    if len(ids) != len(set(ids)):
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f"duplicate task ids: {', '.join(map(str, duplicates))}")
    return items


TaskBulkCreate = Annotated[list[TaskCreate], Field(min_length=1, max_length=MAX_BULK)]
TaskBulkUpdate = Annotated[
    list[TaskBulkUpdateItem],
    Field(min_length=1, max_length=MAX_BULK),
    AfterValidator(_unique_ids),
]


class Task(_Output):
    id: int
    title: str
    description: str | None
    completed: bool
    priority: int
    user_id: int
    created_at: UtcDatetime
    updated_at: UtcDatetime | None


class UserWithTasks(User):
    tasks: list[Task]


class TransferRequest(_Input):
    from_user_id: Id
    to_user_id: Id

    @model_validator(mode="after")
    def _different_users(self) -> "TransferRequest":
        if self.from_user_id == self.to_user_id:
            raise ValueError("from_user_id and to_user_id must differ")
        return self


class Error(BaseModel):
    """Every 404 and 409 body: one of the texts in ``errors.py``."""

    detail: str


class BulkCreated(BaseModel):
    created: int


class BulkUpdated(BaseModel):
    updated: int


class Health(BaseModel):
    status: Literal["ok"]
    implementation: str
    database: str
