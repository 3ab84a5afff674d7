"""Alembic's environment: the SQLAlchemy models are the target, the apps' settings the URL.

``alembic`` on the command line reads ``DATABASE_URL`` through ``Settings``, as every app does;
a caller that puts ``sqlalchemy.url`` on the Config (``benchmarks.database.create_schema``)
picks the database itself.
"""

from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, pool

from implementations.contract.settings import Settings
from implementations.sync_sqlalchemy.models import Base

config = context.config

# A program calling alembic.command keeps its own logging (configure_logger=False).
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

# What `alembic revision --autogenerate` and `alembic check` compare the database against.
target_metadata = Base.metadata
COMPARE = {"compare_type": True, "compare_server_default": True}


def database_url() -> str:
    if url := config.get_main_option("sqlalchemy.url"):
        return url
    return Settings().url_for("psycopg2")


def run_migrations_offline() -> None:
    """``--sql``: print the SQL instead of running it."""
    context.configure(
        url=database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **COMPARE,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    # NullPool: a migration run is one connection, closed at the end.
    engine = create_engine(database_url(), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, target_metadata=target_metadata, **COMPARE)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
