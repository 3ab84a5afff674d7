"""The ``ormbench`` command: a database to work on, the API served five ways, the benchmarks,
their report and the regression check. Each module adds its commands to the one Typer app:
``db`` (a database, ``serve``), ``bench`` (``bench``, ``report``), ``check`` (``check``,
``baseline update``), ``indexes`` (the migration tools on the indexing scenario's indexes),
``load`` (``load``: the API under locust traffic)."""

from benchmarks.cli import bench, check, db, indexes, load  # noqa: F401 (each registers commands)
from benchmarks.cli.common import app

__all__ = ["app"]
