"""The report's opening: what was run, where, with which settings, and how to read the figures."""

from typing import Any

import scenarios
from benchmarks.report.blocks import Block, Bullets, Heading, Paragraph
from benchmarks.report.formatting import TIMES, significant
from benchmarks.report.rows import Run

HOW_TO_READ = (
    "Every figure is per operation: one call of the variant, one request's worth of work. "
    "Each row is a warm-up followed by repeated rounds, with the variants of a scenario "
    "interleaved (A B C A B C ...) so that drift of the machine hits them alike; every call is "
    "timed alone. **median** is the median call, **p95** the call 95% of calls were faster "
    "than, **IQR** the spread of the middle half of the calls (p75 - p25), **ops/s** = "
    "1 / median. **CPU** is the median of the calls' client CPU time (the calling thread's: the "
    "worker thread for sync code, the event loop's for async code); the rest of the median is, "
    "roughly, time spent waiting, on the network and on the server (charts show the two). "
    "**statements/op** are the SQL statements sent (SELECT, INSERT, UPDATE, DELETE, COPY; not "
    "BEGIN, COMMIT or SAVEPOINT), counted the same way for every implementation; **round "
    "trips/op** every exchange with the server, counted at the driver (transaction control, "
    "savepoints, pool resets and pings included: the latency a call pays); and **rows/op** "
    "the rows returned or written: all three are exact and deterministic, the same on every "
    "run and every machine. **floor_ratio** = median / the median of the scenario's floor "
    "(the best hand-written SQL for the same result) on the same driver, `raw_psycopg2` for sync "
    "implementations and `raw_asyncpg` for async ones, with the same params in this same run: "
    f"1.00{TIMES} is the floor, 2.00{TIMES} twice as slow. Timings are not deterministic: "
    "they depend on this machine and vary between runs, so compare ratios, not absolute "
    "times across machines."
)


_SIZES = {"_bytes": 1, "_kib": 2**10, "_kb": 2**10, "_mib": 2**20, "_mb": 2**20, "_gib": 2**30}


def machine_item(key: str, value: Any) -> str:
    """``memory_bytes: 8589934592`` reads ``memory: 8.00 GiB``; anything else as given."""
    for suffix, scale in _SIZES.items():
        if key.endswith(suffix) and isinstance(value, int | float) and not isinstance(value, bool):
            name = key.removesuffix(suffix).replace("_", " ")
            return f"{name}: {significant(value * scale / 2**30)} GiB"
    return f"{key.replace('_', ' ')}: {value}"


def machine_text(machine: dict[str, Any]) -> str:
    items = [machine_item(k, v) for k, v in machine.items() if v not in (None, "")]
    return "; ".join(items) or "not recorded"


def settings_text(settings: dict[str, Any]) -> list[str]:
    items = []
    if "pool_size" in settings:
        overflow = settings.get("max_overflow", 0)
        items.append(
            f"Pool: {settings['pool_size']} connections, max overflow {overflow}, the same for "
            "every implementation"
        )
    cost = settings.get("password_hash")
    if cost is None and "password_hash_time_cost" in settings:
        cost = (
            f"argon2id t={settings['password_hash_time_cost']} "
            f"m={settings.get('password_hash_memory_kib')} KiB"
        )
    if cost is not None:
        items.append(
            f"Password hashing: {cost}, lowered from the API's default so that creating a user "
            "measures the database, not the hash"
        )
    # Implementations are listed from the rows; the rest is shown as recorded.
    shown = {"pool_size", "max_overflow", "password_hash", "implementations"}
    shown |= {"password_hash_time_cost", "password_hash_memory_kib"}
    rest = {k: v for k, v in settings.items() if k not in shown}
    if rest:
        items.append("Other settings: " + ", ".join(f"{k} = {v}" for k, v in rest.items()))
    return items


def header(run: Run) -> list[Block]:
    meta = run.meta
    packages = ", ".join(f"{name} {version}" for name, version in sorted(meta["packages"].items()))
    present = [s for s in run.scenarios if run.select(s)]
    missing = [s for s in scenarios.SCENARIOS if s not in present]
    items = [
        f"Profile: `{meta['profile']}`; started {meta['started_at']}; git commit "
        f"`{meta['git_commit']}`",
        f"Machine: {machine_text(meta['machine'])}",
        f"Python {meta['python']}; {meta['postgres']} ({meta['database']} database)"
        + (
            f"; {meta['redis'].get('version', 'Redis')} ({meta['redis']['provider']})"
            if meta.get("redis")
            else ""
        ),
        f"Packages: {packages or 'not recorded'}",
        *settings_text(meta.get("settings") or {}),
        f"Scenarios run: {', '.join(present) or 'none'}"
        + (f"; not in this run: {', '.join(missing)}" if missing else ""),
        f"Implementations: {', '.join(run.implementations) or 'none'}; {len(run.rows)} rows",
    ]
    return [
        Heading(1, "ormbench report"),
        Heading(2, "What was run"),
        Bullets(items),
        Heading(2, "How to read it"),
        Paragraph(HOW_TO_READ),
    ]
