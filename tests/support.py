"""Small helpers shared by test modules (fixtures live in conftest.py)."""

from benchmarks.database import Server


def ormbench_databases(server: Server) -> set[str]:
    """The databases on ``server`` that ormbench created (by their prefix)."""
    with server.admin() as cursor:
        cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE 'ormbench\\_%'")
        return {name for (name,) in cursor.fetchall()}
