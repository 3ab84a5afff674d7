"""The same user/task API, written once per way of talking to PostgreSQL.

Each sub-package exposes ``create_app(settings)`` in its ``app`` module. This registry is the
one place that lists them, so adding an implementation to the CLI and to the contract suite
is one line here.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

    from implementations.contract.settings import Settings

# name -> (driver, mode). The driver is what the floor for this implementation is built on.
IMPLEMENTATIONS: dict[str, tuple[str, str]] = {
    "sync_sqlalchemy": ("psycopg2", "sync"),
    "async_sqlalchemy": ("asyncpg", "async"),
    "tortoise": ("asyncpg", "async"),
    "raw_psycopg2": ("psycopg2", "sync"),
    "raw_asyncpg": ("asyncpg", "async"),
}


def _check(name: str) -> None:
    if name not in IMPLEMENTATIONS:
        known = ", ".join(IMPLEMENTATIONS)
        raise ValueError(f"unknown implementation {name!r}; choose one of: {known}")


def create_port(name: str, settings: "Settings") -> Any:
    """The implementation's ``Port`` (``<name>/port.py``): what the scenarios drive."""
    _check(name)
    return import_module(f"implementations.{name}.port").Port(settings)


def create_app(name: str, settings: "Settings | None" = None) -> "FastAPI":
    """Build the FastAPI app of implementation ``name``."""
    _check(name)
    module = import_module(f"implementations.{name}.app")
    return module.create_app(settings)
