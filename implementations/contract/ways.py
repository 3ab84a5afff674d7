"""Choosing among the ways an implementation offers to do one operation (its ``port.py``).

A port keeps, per operation, a dict from a way's name to the function doing it, naive
first; its ``HOW`` is built from those dicts, so what it declares and what it can run are
one list.
"""

from collections.abc import Callable
from typing import Any

Ways = dict[str, Callable[..., Any]]
API_ONLY = ("api",)  # operations done only the way the API's crud.py does them


def way(ways: Ways, how: str) -> Callable[..., Any]:
    if how not in ways:
        raise ValueError(f"unknown way {how!r}; this implementation offers: {', '.join(ways)}")
    return ways[how]


def api(how: str) -> None:
    if how != "api":
        raise ValueError(f"unknown way {how!r}; this implementation offers: api")
