"""The pool each library gives a user who passes no pool arguments, read from the libraries.

ormbench runs every implementation on one parity pool (``Settings``: 10 connections, no
overflow). The pooling benchmark also runs each one the way it comes out of the box, so
these figures are read from the installed libraries themselves (signatures and constructor
defaults), never copied here: an upgrade that changes a default changes the run.
"""

import inspect
from typing import Any

# What each implementation's pool is built with; psycopg2's ThreadedConnectionPool has no
# default size (minconn and maxconn are required arguments).
NO_DEFAULT = {
    "raw_psycopg2": "psycopg2's pool has no default size: minconn and maxconn are required"
}


def _defaults(function: Any) -> dict[str, Any]:
    return {
        name: parameter.default
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.default is not inspect.Parameter.empty
    }


def library_default(implementation: str) -> dict[str, Any]:
    """``Settings`` fields that reproduce ``implementation``'s library default pool:
    its size, overflow and checkout timeout."""
    if implementation in NO_DEFAULT:
        raise ValueError(NO_DEFAULT[implementation])
    if implementation in ("sync_sqlalchemy", "async_sqlalchemy"):
        from sqlalchemy import QueuePool  # AsyncAdaptedQueuePool takes the same arguments

        queue = _defaults(QueuePool.__init__)
        return {
            "pool_size": queue["pool_size"],
            "max_overflow": queue["max_overflow"],
            "pool_timeout": queue["timeout"],
        }
    if implementation == "raw_asyncpg":
        import asyncpg

        pool = _defaults(asyncpg.create_pool)
        # min_size == max_size by default: a fixed pool, as pool_size with no overflow.
        return {"pool_size": pool["max_size"], "max_overflow": 0}
    if implementation == "tortoise":
        from tortoise.backends.asyncpg import AsyncpgDBClient

        # Tortoise sets its defaults in the constructor's body: build a client (no I/O).
        client = AsyncpgDBClient(database="probe", connection_name="probe")
        return {"pool_size": client.pool_maxsize, "max_overflow": 0}
    raise ValueError(f"no library default known for {implementation!r}")
