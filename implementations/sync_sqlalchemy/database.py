"""Engine, pool and session for the sync implementation, and the request dependency."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine.interfaces import ExecuteStyle
from sqlalchemy.orm import Session, sessionmaker

from implementations.contract.counting import PoolStats, record
from implementations.contract.settings import Settings


@dataclass
class Database:
    """What the app holds for its lifetime: the engine (and its pool), a session factory,
    and the pool's event counts."""

    engine: Engine
    sessionmaker: "sessionmaker[Session]" = field(init=False)
    pool_stats: PoolStats = field(init=False)

    def __post_init__(self) -> None:
        # expire_on_commit=False: a committed object goes back to the client as it is,
        # without a SELECT to reload the attributes a commit would otherwise expire.
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        self.pool_stats = watch(self.engine)

    @property
    def max_connections(self) -> int:
        """The pool's ceiling, read from the pool itself (QueuePool keeps no public max)."""
        return self.engine.pool.size() + self.engine.pool._max_overflow  # type: ignore[attr-defined]

    def close(self) -> None:
        self.engine.dispose()


def open_database(settings: Settings) -> Database:
    engine = create_engine(
        settings.url_for("psycopg2"),
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_timeout=settings.pool_timeout,
        pool_recycle=settings.pool_recycle,
        pool_pre_ping=settings.pool_pre_ping,
        echo=settings.echo,
    )
    return Database(engine)


def watch(engine: Engine) -> PoolStats:
    """Count statements (contract/counting.py) and pool events on ``engine``."""
    stats = PoolStats()

    @event.listens_for(engine, "before_cursor_execute")
    def _count(_conn: Any, _cursor: Any, statement: str, params: Any, context: Any, _many: bool):
        # Pings and pool resets bypass this event; only what the ORM asked for arrives here.
        # A true executemany runs once per parameter set; an "insertmanyvalues" batch is one
        # multi-row INSERT, executed once.
        many = context is not None and context.execute_style is ExecuteStyle.EXECUTEMANY
        record(statement, len(params) if many else 1)

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


SessionDep = Annotated[Session, Depends(get_session)]
