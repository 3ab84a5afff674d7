"""The pool as PostgreSQL sees it during a load run, sampled from the harness's own connection.

Nothing in the apps changes for this (their API is the contract): every connection to the
run's database, other than the sampler's, is the served implementation's pool, so
``pg_stat_activity`` shows how many it opened and how many are working at each instant
(running a statement, or inside a transaction, idle or not). The same query for every
implementation, whatever its driver or pool.
"""

import statistics
import threading
from dataclasses import dataclass, field
from typing import Any

import psycopg2

INTERVAL_S = 0.2

SAMPLE = """
SELECT count(*),
       count(*) FILTER (WHERE state IN ('active', 'idle in transaction',
                                        'idle in transaction (aborted)')),
       count(*) FILTER (WHERE state LIKE 'idle in transaction%'),
       count(*) FILTER (WHERE wait_event_type = 'Lock')
FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()
  AND backend_type = 'client backend'
"""


@dataclass
class PoolSampler:
    """``with PoolSampler(url) as sampler: ...``; then ``sampler.figures()``."""

    url: str
    samples: list[tuple[int, int, int, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> "PoolSampler":
        connection = psycopg2.connect(self.url, application_name="ormbench load sampler")
        connection.autocommit = True  # each sample its own snapshot of pg_stat_activity
        self._thread = threading.Thread(target=self._run, args=(connection,), daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _run(self, connection: Any) -> None:
        try:
            with connection.cursor() as cursor:
                while not self._stop.wait(INTERVAL_S):
                    cursor.execute(SAMPLE)
                    self.samples.append(cursor.fetchone())
        finally:
            connection.close()

    def figures(self, pool_max: int) -> dict[str, Any]:
        if not self.samples:
            return {"samples": 0, "pool_max": pool_max}
        opened, busy, in_transaction, lock_waits = zip(*self.samples, strict=True)
        return {
            "samples": len(self.samples),
            "pool_max": pool_max,
            "connections_max": max(opened),
            "busy_mean": round(statistics.fmean(busy), 2),
            "busy_max": max(busy),
            "busy_share": round(statistics.fmean(busy) / pool_max, 3),
            "idle_in_transaction_mean": round(statistics.fmean(in_transaction), 2),
            "lock_waits_mean": round(statistics.fmean(lock_waits), 2),
        }
