"""Shared workloads. Each scenario is a module that speaks only to the port (``port.py``).

A scenario module has: a docstring (the report's text; first line is its title), ``PARAMS``
per profile, ``setup(db, params)`` that seeds its data and returns what verification needs,
``ops(db, data, params, count)`` that prepares the inputs of ``count`` calls (untimed; it may
use ``db`` to create rows a call will consume), optionally ``after(db, data, ops)`` to undo
what the calls changed, ``VARIANTS`` (registered with ``@VARIANTS.add``, naive first),
``FLOOR`` (per port operation, the variant whose run on the floor implementation — raw_psycopg2
for sync, raw_asyncpg for async — every row of that operation is divided by),
``verify(db, variant, result, op, data)`` that raises ``WrongResult`` (it may read the
database back; the runner calls it outside the timed region, before ``after``), and
``rows(variant, result)``, the rows a call returned or wrote.

Optional, for scenarios that need more than the database (caching: Redis, a second process):
``open(context)`` before the scenario's first params set and ``close(context)`` after its
last (``Context``: the run's settings, its open ports, and a way to run a coroutine on the
runner's event loop); and ``tally(variant, ops, results, statements)``, called after every
batch with every call's result and statement count, which returns counts of outcomes (for
caching: ``reads``, ``hits``, ``stale_reads``, ``wrong_answers``) that the runner adds up into
the row, and raises ``WrongResult`` where ``verify`` would, except for the variants named in
``SHOWS_A_MISTAKE``, which exist to show a mistake and have their wrong answers counted.
``NEEDS_REDIS = True`` makes ``ormbench bench`` provide a Redis (``Settings.redis_url``);
``CALIBRATE_ON_MEAN = True`` sizes rounds on the mean of a full warm-up round, for calls of
very unequal cost (docs/measurement.md).
"""

from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from importlib import import_module
from types import ModuleType
from typing import Any

# Naive to best within a family; the report keeps this order.
SCENARIOS = (
    "crud",
    "eager_loading",
    "bulk_insert",
    "bulk_update",
    "filter_sort",
    "aggregation",
    "transactions",
    "pooling",
    "indexing",
    "caching",
)
PROFILES = ("quick", "standard", "full")

Op = dict[str, Any]


@dataclass(frozen=True)
class Context:
    """What a scenario's ``open`` and ``close`` get from the runner."""

    settings: Any  # implementations.contract.settings.Settings: database and Redis URLs
    ports: Mapping[str, Any]  # implementation name -> its open port
    run: Callable[[Awaitable[Any]], Any]  # run a coroutine on the runner's event loop


class WrongResult(AssertionError):
    """A variant returned the wrong rows or values: the run fails, however fast it was."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise WrongResult(message)


@dataclass(frozen=True)
class Variant:
    name: str
    label: str  # the docstring's first line: what the report calls it
    operation: str  # the port operation it calls
    how: str  # the way it asks for (Port.HOW[operation])
    call: Callable[[Any, Op], Any]
    # Every variant of an operation does the same work (reads the same columns, returns the
    # same rows) unless it says here what it does differently: the report prints it, and
    # the engine tests hold every other variant to the same columns.
    differs: str | None = None

    def applies_to(self, port: Any) -> bool:
        return self.how in port.HOW.get(self.operation, ())


class Variants:
    """The variants of one scenario, in registration order (naive first)."""

    def __init__(self) -> None:
        self._variants: dict[str, Variant] = {}

    def add(
        self, operation: str, how: str, differs: str | None = None
    ) -> Callable[[Callable[[Any, Op], Any]], Callable]:
        def register(function: Callable[[Any, Op], Any]) -> Callable[[Any, Op], Any]:
            label = (function.__doc__ or function.__name__).strip().splitlines()[0]
            name = function.__name__
            self._variants[name] = Variant(name, label, operation, how, function, differs)
            return function

        return register

    def include(self, variant: Variant) -> None:
        """Register a variant built elsewhere (a family that combines workloads with
        configurations builds its own, see ``pooling.py``)."""
        self._variants[variant.name] = variant

    def __iter__(self) -> Iterator[Variant]:
        return iter(self._variants.values())

    def __getitem__(self, name: str) -> Variant:
        return self._variants[name]


def load(name: str) -> ModuleType:
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; choose from: {', '.join(SCENARIOS)}")
    return import_module(f"scenarios.{name}")


def title(module: ModuleType) -> str:
    """The docstring's first paragraph, on one line."""
    first_paragraph = (module.__doc__ or module.__name__).strip().split("\n\n")[0]
    return " ".join(first_paragraph.split()).rstrip(".")
