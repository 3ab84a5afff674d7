"""Round trips, counted at the driver: every exchange in which the client waits for the server.

A statement count says what the code asked for; a round trip count says what it paid in
latency. A get by id through a SQLAlchemy Session is one statement but three round trips
(BEGIN, SELECT, and the ROLLBACK of the pool's reset on return); through asyncpg's pool it is
one statement and two round trips (the SELECT, and the pool's reset query on release). So
every implementation counts both, at the lowest place its driver offers, and feeds
``counting.record_round_trips``:

- **psycopg2** (``sync_sqlalchemy``, ``raw_psycopg2``): libpq has no hooks, so the connection
  class below counts what each Python call sends. ``execute`` is one round trip, preceded by
  one for the ``BEGIN`` psycopg2 sends by itself when a non-autocommit connection is idle;
  ``executemany`` is one per parameter set (psycopg2 loops over ``execute``); ``commit`` and
  ``rollback`` are one each, but only when a transaction is open (psycopg2 sends nothing
  otherwise); COPY is two (the server's go-ahead to stream, then the result); leaving
  autocommit is one ``SET ... TO DEFAULT`` per session characteristic that was set.
- **asyncpg** (``async_sqlalchemy``, ``tortoise``, ``raw_asyncpg``): the connection class below
  wraps asyncpg's protocol object, through which every message exchange passes, whoever
  asked for it: the query logger misses prepared statements (SQLAlchemy's asyncpg dialect
  runs everything as one), this does not. ``prepare`` (Parse/Describe, on a statement-cache
  miss) is one, an execution is one, a simple query is one even when it holds several
  statements (asyncpg's pool reset: four statements, one round trip), ``executemany`` is one
  (asyncpg pipelines every parameter set and waits once), COPY is two.

Pool pings, resets, savepoints and transaction control are all round trips: they are
exchanges like any other, which is the point of counting them.
"""

from functools import cache
from typing import Any

import asyncpg
import psycopg2.extensions

from implementations.contract.counting import record_round_trips

# --- psycopg2 ----------------------------------------------------------------------------

_READY, _IN_TRANSACTION = psycopg2.extensions.STATUS_READY, psycopg2.extensions.STATUS_BEGIN
COPY_ROUND_TRIPS = 2  # COPY ... FROM STDIN: wait for CopyInResponse, stream, wait for the result


class Psycopg2RoundTripCursor(psycopg2.extensions.cursor):
    """A psycopg2 cursor that counts its round trips. Every cursor of a
    ``Psycopg2RoundTripConnection`` is one (its ``cursor()`` mixes it into any other class)."""

    def _sent(self, exchanges: int) -> None:
        connection = self.connection
        if connection.closed or exchanges == 0:
            return  # psycopg2 raises before sending anything
        if not connection.autocommit and connection.status == _READY:
            exchanges += 1  # the BEGIN psycopg2 sends first, on its own
        record_round_trips(exchanges)

    def execute(self, query: Any, vars: Any = None) -> None:
        self._sent(1)
        super().execute(query, vars)

    def executemany(self, query: Any, vars_list: Any) -> None:
        vars_list = list(vars_list)  # may be a generator
        self._sent(len(vars_list))
        super().executemany(query, vars_list)

    def copy_expert(self, sql: Any, file: Any, size: int = 8192) -> None:
        self._sent(COPY_ROUND_TRIPS)
        super().copy_expert(sql, file, size)

    def copy_from(self, file: Any, table: str, *args: Any, **kwargs: Any) -> None:
        self._sent(COPY_ROUND_TRIPS)
        super().copy_from(file, table, *args, **kwargs)

    def copy_to(self, file: Any, table: str, *args: Any, **kwargs: Any) -> None:
        self._sent(COPY_ROUND_TRIPS)
        super().copy_to(file, table, *args, **kwargs)


@cache
def _counting(factory: type) -> type:
    if issubclass(factory, Psycopg2RoundTripCursor):
        return factory
    return type(f"RoundTrip{factory.__name__}", (Psycopg2RoundTripCursor, factory), {})


class Psycopg2RoundTripConnection(psycopg2.extensions.connection):
    """A psycopg2 connection whose round trips are counted: its cursors', and its own
    COMMIT and ROLLBACK (also those of ``with connection:``, which calls these methods)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.cursor_factory is None:
            self.cursor_factory = Psycopg2RoundTripCursor

    def cursor(self, *args: Any, **kwargs: Any) -> Any:
        # A cursor class that does not count (psycopg2.extras makes its own to read type
        # oids, for one) gets the counting one mixed in, so no exchange goes uncounted.
        factory = kwargs.get("cursor_factory") or self.cursor_factory
        kwargs["cursor_factory"] = _counting(factory)
        return super().cursor(*args, **kwargs)

    # Leaving autocommit, psycopg2 sends one "SET default_transaction_... TO DEFAULT" per
    # session characteristic that is set (SQLAlchemy's reset of an AUTOCOMMIT connection
    # does this on every return to the pool). The three ways to leave it count them here.
    _autocommit = psycopg2.extensions.connection.autocommit

    @property
    def autocommit(self) -> bool:
        return self._autocommit

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        if not value:
            self._leaving_autocommit()
        type(self)._autocommit.__set__(self, value)

    def set_session(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("autocommit") is False or (len(args) > 4 and args[4] is False):
            self._leaving_autocommit()
        super().set_session(*args, **kwargs)

    def set_isolation_level(self, level: int) -> None:
        if level != psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT:
            self._leaving_autocommit()
        super().set_isolation_level(level)

    def _leaving_autocommit(self) -> None:
        if not self.closed and self.autocommit:
            settings = (self.isolation_level, self.readonly, self.deferrable)
            record_round_trips(sum(setting is not None for setting in settings))

    def commit(self) -> None:
        self._ending()
        super().commit()

    def rollback(self) -> None:
        self._ending()
        super().rollback()

    def _ending(self) -> None:
        if not self.closed and self.status == _IN_TRANSACTION:
            record_round_trips(1)


# --- asyncpg -----------------------------------------------------------------------------

# The protocol's methods that send messages and wait for the answer, with their round trips.
_EXCHANGES = {
    "prepare": 1,
    "bind_execute": 1,
    "bind_execute_many": 1,
    "bind": 1,
    "execute": 1,
    "query": 1,
    "close_statement": 1,
    "close_portal": 1,
    "copy_in": COPY_ROUND_TRIPS,
    "copy_out": COPY_ROUND_TRIPS,
}


class _CountingProtocol:
    """Stands in for an asyncpg protocol: counts each exchange (the methods added below),
    delegates everything else."""

    __slots__ = ("_protocol",)

    def __init__(self, protocol: Any) -> None:
        self._protocol = protocol

    def __getattr__(self, name: str) -> Any:
        return getattr(self._protocol, name)


def _counted(name: str, exchanges: int) -> Any:
    def exchange(self: _CountingProtocol, *args: Any, **kwargs: Any) -> Any:
        record_round_trips(exchanges)
        return getattr(self._protocol, name)(*args, **kwargs)

    exchange.__name__ = name
    return exchange


for _name, _exchanges in _EXCHANGES.items():
    setattr(_CountingProtocol, _name, _counted(_name, _exchanges))


class AsyncpgRoundTripConnection(asyncpg.Connection):
    """An asyncpg connection whose round trips are counted; pass it as ``connection_class``
    to ``asyncpg.connect`` or ``asyncpg.create_pool`` (SQLAlchemy: in ``connect_args``;
    Tortoise: in the connection's credentials)."""

    def __init__(self, protocol: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(protocol, *args, **kwargs)
        self._protocol = _CountingProtocol(protocol)
