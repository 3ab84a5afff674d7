"""Engine, pool and session for the sync implementation, and the request dependency."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Engine, NullPool, Pool, QueuePool, create_engine, event
from sqlalchemy.engine.interfaces import ExecuteStyle
from sqlalchemy.orm import Session, sessionmaker

from implementations.contract.counting import PoolStats, acquiring, record
from implementations.contract.roundtrips import Psycopg2RoundTripConnection
from implementations.contract.settings import Settings


@dataclass
class Database:
    """What the app holds for its lifetime: the engine (and its pool), a session factory,
    and the pool's event counts."""

    engine: Engine
    # A second engine, its connections in autocommit: a read sends its SELECT and nothing
    # else, no BEGIN before it and no ROLLBACK when the pool takes the connection back. The
    # API does not use it; the benchmarks measure what the transaction costs a read. (Not
    # engine.execution_options(isolation_level="AUTOCOMMIT") on the API's engine: on
    # psycopg2 that costs a SET on every return to the pool, when SQLAlchemy puts the
    # isolation level back.)
    read_engine: Engine
    sessionmaker: "sessionmaker[Session]" = field(init=False)
    autocommit_sessionmaker: "sessionmaker[Session]" = field(init=False)
    pool_stats: PoolStats = field(init=False)

    def __post_init__(self) -> None:
        # expire_on_commit=False: a committed object goes back to the client as it is,
        # without a SELECT to reload the attributes a commit would otherwise expire.
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        self.autocommit_sessionmaker = sessionmaker(self.read_engine, expire_on_commit=False)
        self.pool_stats = watch(self.engine)
        watch(self.read_engine, self.pool_stats)

    @property
    def max_connections(self) -> int | None:
        """The pool's ceiling, read from the pool itself (QueuePool keeps no public max);
        None without a pool (NullPool opens as many as are asked for)."""
        return ceiling(self.engine.pool)

    def close(self) -> None:
        self.engine.dispose()
        self.read_engine.dispose()


def open_database(settings: Settings) -> Database:
    return Database(_engine(settings), _engine(settings, isolation_level="AUTOCOMMIT"))


def _engine(settings: Settings, **options: Any) -> Engine:
    connect_args: dict[str, Any] = {"connection_factory": Psycopg2RoundTripConnection}
    if settings.application_name:
        connect_args["application_name"] = settings.application_name
    return create_engine(
        settings.url_for("psycopg2"),
        **pool_options(settings, QueuePool),
        pool_pre_ping=settings.pool_pre_ping,
        echo=settings.echo,
        # Round trips are counted below SQLAlchemy, in psycopg2's connection and cursors.
        connect_args=connect_args,
        **options,
    )


def pool_options(settings: Settings, queue_pool: type[Pool]) -> dict[str, Any]:
    """The pool arguments of ``create_engine`` from the settings: ``queue_pool`` sized by
    them, or NullPool (a new connection per checkout) when ``pooled`` is off; either timed."""
    if not settings.pooled:
        return {"poolclass": timed(NullPool), "pool_recycle": settings.pool_recycle}
    return {
        "poolclass": timed(queue_pool),
        "pool_size": settings.pool_size,
        "max_overflow": settings.max_overflow,
        "pool_timeout": settings.pool_timeout,
        "pool_recycle": settings.pool_recycle,
    }


@cache
def timed(pool_class: type[Pool]) -> type[Pool]:
    """``pool_class`` whose checkout is timed into the operation's pool wait (``acquiring``):
    waiting for a free connection, opening one, the pre-ping. ``connect()`` is what
    ``Engine.raw_connection`` calls for every checkout."""

    def connect(self: Pool) -> Any:
        with acquiring():
            return pool_class.connect(self)

    return type(pool_class.__name__, (pool_class,), {"connect": connect})


def ceiling(pool: Pool) -> int | None:
    """The most connections ``pool`` holds at once: None for a NullPool."""
    if isinstance(pool, NullPool):
        return None
    return pool.size() + pool._max_overflow  # type: ignore[attr-defined]


def watch(engine: Engine, stats: PoolStats | None = None) -> PoolStats:
    """Count statements (contract/counting.py) and pool events on ``engine``."""
    stats = stats or PoolStats()

    @event.listens_for(engine, "before_cursor_execute")
    def _count(_conn: Any, _cursor: Any, statement: str, params: Any, context: Any, _many: bool):
        # Pings and pool resets bypass this event; only what the ORM asked for arrives here.
        # A true executemany runs once per parameter set; an "insertmanyvalues" batch is one
        # multi-row INSERT, executed once.
        many = context is not None and context.execute_style is ExecuteStyle.EXECUTEMANY
        record(statement, len(params) if many else 1, params)

    @event.listens_for(engine.pool, "connect")
    def _connect(*_: Any) -> None:
        stats.connects += 1

    @event.listens_for(engine.pool, "checkout")
    def _checkout(*_: Any) -> None:
        stats.checkouts += 1

    @event.listens_for(engine.pool, "checkin")
    def _checkin(*_: Any) -> None:
        stats.checkins += 1

    return stats


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.database.sessionmaker() as session:
        yield session


# scope="function": the session closes (its ROLLBACK sent, the connection back in the pool)
# when the endpoint returns, before the response is sent, so the pool slot is not held while
# the client reads, and X-Round-Trips can count that ROLLBACK.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
