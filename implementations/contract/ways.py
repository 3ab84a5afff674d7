"""What the ports (``implementations/<name>/port.py``) share: choosing among the ways an
implementation offers to do one operation, and holding the port's database.

A port keeps, per operation, a dict from a way's name to the function doing it, naive
first; its ``HOW`` is built from those dicts, so what it declares and what it can run are
one list.
"""

from collections.abc import Callable
from typing import Any

from implementations.contract.counting import PoolStats
from implementations.contract.security import Passwords
from implementations.contract.settings import Settings

Ways = dict[str, Callable[..., Any]]
API_ONLY = ("api",)  # operations done only the way the API's crud.py does them


def way(ways: Ways, how: str) -> Callable[..., Any]:
    if how not in ways:
        raise ValueError(f"unknown way {how!r}; this implementation offers: {', '.join(ways)}")
    return ways[how]


def api(how: str) -> None:
    if how != "api":
        raise ValueError(f"unknown way {how!r}; this implementation offers: api")


class PortBase:
    """What every port holds the same way: its settings, password hasher, and the
    ``Database`` its ``open()`` builds (the same one the app's lifespan builds)."""

    name: str

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.passwords = Passwords(settings)
        self._database: Any = None

    @property
    def database(self) -> Any:
        if self._database is None:
            raise RuntimeError(f"{self.name}: the port is not open: call open() first")
        return self._database

    @property
    def pool_stats(self) -> PoolStats:
        return self.database.pool_stats

    @property
    def max_connections(self) -> int:
        return self.database.max_connections
