"""Engine, pool and session for the sync implementation, and the request dependency."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine.interfaces import ExecuteStyle
from sqlalchemy.orm import Session, sessionmaker

from implementations.contract.counting import PoolStats, record
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
    def max_connections(self) -> int:
        """The pool's ceiling, read from the pool itself (QueuePool keeps no public max)."""
        return self.engine.pool.size() + self.engine.pool._max_overflow  # type: ignore[attr-defined]

    def close(self) -> None:
        self.engine.dispose()
        self.read_engine.dispose()


def open_database(settings: Settings) -> Database:
    return Database(_engine(settings), _engine(settings, isolation_level="AUTOCOMMIT"))


def _engine(settings: Settings, **options: Any) -> Engine:
    return create_engine(
        settings.url_for("psycopg2"),
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_timeout=settings.pool_timeout,
        pool_recycle=settings.pool_recycle,
        pool_pre_ping=settings.pool_pre_ping,
        echo=settings.echo,
        # Round trips are counted below SQLAlchemy, in psycopg2's connection and cursors.
        connect_args={"connection_factory": Psycopg2RoundTripConnection},
        **options,
    )


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
