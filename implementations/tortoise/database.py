"""Tortoise's connection config, its asyncpg pool, and the statement counter on that pool.

Tortoise keeps its connections in a registry of its own (``tortoise.connections``) and every
model query finds the connection there, or in the transaction ``in_transaction()`` opened:
there is no session to pass around, so there is no request dependency either. The app
registers Tortoise with ``RegisterTortoise`` in its lifespan (see ``app.py``).

Statement counting: Tortoise hands every credential it does not use itself straight to
``asyncpg.create_pool`` (``AsyncpgDBClient.create_connection`` spreads them into the call),
so the config adds an ``init=`` callback that attaches ``count_asyncpg``
(contract/counting.py) to each new connection. The counter then sits on asyncpg's query
logger, the lowest hook there is, and sees what was sent to PostgreSQL: an ``executemany``
(Tortoise's ``bulk_create``) counts once per row, as pg_stat_statements does, while
BEGIN/COMMIT, the pool's reset on release and asyncpg's type introspection are left out.
The other way in, the ``tortoise.db_client`` logger at DEBUG, logs an ``executemany`` as one
line and sees only what passes through Tortoise's client methods, so the count would have to
be corrected by hand; it would also make every query pay for DEBUG logging.
``setup=`` and ``reset=`` count pool checkouts and checkins for ``PoolStats``.

The config names this module as Tortoise's engine, so Tortoise builds its client from
``client_class`` below: its own asyncpg client, with the pool's ``acquire`` timed into the
operation's pool wait (contract/counting.py, ``acquiring``). Nothing else differs.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tortoise import connections
from tortoise.backends.asyncpg import AsyncpgDBClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.context import TortoiseContext, _current_context

from implementations.contract.counting import PoolStats, acquiring, count_asyncpg
from implementations.contract.roundtrips import AsyncpgRoundTripConnection
from implementations.contract.settings import Settings

MODELS = "implementations.tortoise.models"


@dataclass
class Database:
    """What the app holds for its lifetime: Tortoise's config (its pool is built from it, on
    first use) and the pool's event counts."""

    settings: Settings
    pool_stats: PoolStats = field(default_factory=PoolStats)
    # False builds the benchmarks' pool that skips asyncpg's reset query on release (one
    # round trip less per query), opened one connection at a time; the API never uses it.
    # The risk it takes: whatever a query left on its session (SET, LISTEN, advisory locks)
    # is met by the next one.
    reset_on_release: bool = True

    @property
    def max_connections(self) -> int:
        """The pool's ceiling, read from Tortoise's live client (inside the app's context)."""
        return connections.get("default").pool_maxsize

    @property
    def config(self) -> dict[str, Any]:
        """The config for ``Tortoise.init`` / ``RegisterTortoise``."""
        connection = expand_db_url(self.settings.url_for("tortoise"))
        connection["engine"] = __name__  # client_class below: Tortoise's, acquire timed
        connection["credentials"].update(self._pool_options())
        return {
            "connections": {"default": connection},
            "apps": {"models": {"models": [MODELS], "default_connection": "default"}},
            "use_tz": True,
            "timezone": "UTC",
        }

    def _pool_options(self) -> dict[str, Any]:
        settings = self.settings
        return {
            # Tortoise's own default pool is 1..5 connections, SQLAlchemy's 5 + 10 overflow:
            # every implementation sizes its pool from the same settings instead, or comparing
            # them measures pool sizes. asyncpg has no overflow: it opens ``minsize``
            # connections when the pool is created (Tortoise does that on the first query)
            # and more on demand up to ``maxsize``. So the same steady state as SQLAlchemy's
            # QueuePool (pool_size kept open) and the same ceiling (pool_size + max_overflow).
            "minsize": settings.pool_size if self.reset_on_release else 1,
            "maxsize": settings.pool_max,
            # asyncpg closes a connection idle for 5 minutes by default, SQLAlchemy's pool
            # never does: 0 turns that off. pool_recycle (a maximum age in SQLAlchemy) maps
            # onto this idle limit, the nearest knob asyncpg has.
            "max_inactive_connection_lifetime": max(settings.pool_recycle, 0),
            # Round trips are counted below Tortoise, in asyncpg's protocol.
            "connection_class": AsyncpgRoundTripConnection,
            "init": self._connected,
            "setup": self._checked_out,
            "reset": self._checked_in,
            **self._configured(),
        }

    def _configured(self) -> dict[str, Any]:
        """What the pooling benchmark's settings change (their defaults change nothing)."""
        settings, options = self.settings, {}
        if settings.application_name:
            options["application_name"] = settings.application_name
        if not settings.statement_cache:
            options["statement_cache_size"] = 0  # unnamed statements, as PgBouncer needs
        if not settings.pooled:
            # Tortoise always builds an asyncpg pool; the nearest it comes to no pool is a
            # connection closed after one query and opened anew for the next (max_queries).
            options |= {"minsize": 0, "max_queries": 1}
        return options

    async def _connected(self, connection: Any) -> None:
        # asyncpg awaits init=; count_asyncpg itself is a plain function.
        self.pool_stats.connects += 1
        count_asyncpg(connection)

    async def _checked_out(self, _connection: Any) -> None:
        self.pool_stats.checkouts += 1

    async def _checked_in(self, connection: Any) -> None:
        # A reset= callback replaces asyncpg's default reset, so it runs that reset too
        # (asyncpg rolls back an open transaction before calling it, either way).
        if self.reset_on_release:
            await connection.reset()
        self.pool_stats.checkins += 1


def open_database(settings: Settings, *, reset: bool | None = None) -> Database:
    """``reset`` defaults to ``Settings.pool_reset_on_release``."""
    default = settings.pool_reset_on_release
    return Database(settings, reset_on_release=default if reset is None else reset)


class _TimedPool:
    """An asyncpg pool whose ``acquire`` is timed; everything else is the pool's. Tortoise
    only ever awaits ``pool.acquire()`` (never ``async with``), so this is the one door."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)

    async def acquire(self, **options: Any) -> Any:
        with acquiring():
            return await self._pool.acquire(**options)


class Client(AsyncpgDBClient):
    """Tortoise's asyncpg client; its pool's checkouts are timed (``_TimedPool``)."""

    async def create_pool(self, **kwargs: Any) -> Any:
        return _TimedPool(await super().create_pool(**kwargs))


client_class = Client  # what Tortoise reads from the module its config names as engine


@contextmanager
def entered(context: TortoiseContext) -> Iterator[None]:
    """``context`` is the current TortoiseContext inside the block, for this task only.

    Not ``with context:``: TortoiseContext keeps the token that undoes its ``__enter__`` on
    the context object, so two tasks inside one context at once overwrite each other's token,
    and the first to leave raises ValueError (token created in a different Context). Tortoise
    has no public way to enter a context per task, so this sets the same context variable
    its ``__enter__`` sets, and keeps the token here, one per entry.
    """
    token = _current_context.set(context)
    try:
        yield
    finally:
        _current_context.reset(token)
