"""One load run: a database seeded the same for every implementation, each implementation
served by uvicorn on a free port, locust against it as a subprocess, everything stopped after.

For every implementation, in turn: TRUNCATE and seed again (the same rows and ids), start
uvicorn (``--loop uvloop --http httptools``, the same worker count and pool settings), wait
for ``/health``, warm it up with a few reads, then run locust headless (one process, or a
master and K workers) while the pool is sampled in ``pg_stat_activity`` and the server's
CPU time is read before and after. Locust's JSON, CSV and HTML reports, the server's and
locust's logs and the figures land in one folder per implementation.
"""

import os
import random
import resource
import sys
import urllib.request
from collections.abc import Callable
from contextlib import ExitStack, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg2

from benchmarks.embedded import free_port
from benchmarks.load import LOCUSTFILE, figures, processes
from benchmarks.load.pool import PoolSampler
from scenarios.seed import Database, users_and_tasks

WARMUP_PATHS = (
    "/users/1",
    "/users/1/tasks?limit=20",
    "/users/with-tasks?limit=10",
    "/users/1/stats",
)
WARMUP_ROUNDS = 5
# When the time is up, a task in flight may finish: the locustfile's tasks make at most two
# requests of at most 10 s each, so every request sent is answered or fails, and is counted.
LOCUST_STOP_TIMEOUT_S = 25
STARTUP_ALLOWANCE_S = 180  # locust start, workers connecting, spawning, stopping


@dataclass(frozen=True)
class LoadPlan:
    """Everything a run is made of; written into comparison.json as it was."""

    implementations: list[str]
    users: int = 20
    spawn_rate: float = 20.0
    duration_s: int = 30
    workers: int = 0  # locust worker processes here (0: locust runs as one process)
    remote_workers: int = 0  # more workers, on other hosts, that the master waits for
    server_workers: int = 1  # uvicorn processes per implementation, each with its own pool
    pool_size: int = 10
    max_overflow: int = 0
    rate: float = 0.0  # tasks per second for all users together (0: closed loop)
    tags: tuple[str, ...] = ()
    exclude_tags: tuple[str, ...] = ()
    seeded_users: int = 1000
    tasks_per_user: int = 20
    rounds: int = 1
    order_seed: int = field(default_factory=lambda: random.SystemRandom().randrange(10**6))
    bind: str = "127.0.0.1"  # where uvicorn and the locust master listen
    public_host: str = "127.0.0.1"  # how locust (and remote workers) reach them
    master_port: int = 0  # 0: a free port (remote workers need a fixed one: 5557)
    ui: bool = False
    ui_port: int = 8089

    @property
    def distributed(self) -> bool:
        return self.workers + self.remote_workers > 0

    @property
    def pool_max(self) -> int:
        """Connections the server may hold at most: every uvicorn process has its own pool."""
        return (self.pool_size + self.max_overflow) * self.server_workers

    def sequence(self) -> list[tuple[int, str]]:
        """(round, implementation) in running order: one random order (from ``order_seed``),
        reversed every other round, so neither going first nor last favours anyone."""
        order = list(self.implementations)
        random.Random(self.order_seed).shuffle(order)
        return [
            (number, name)
            for number in range(1, self.rounds + 1)
            for name in (order if number % 2 else order[::-1])
        ]


def server_env(plan: LoadPlan, url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "ORMBENCH_POOL_SIZE": str(plan.pool_size),
        "ORMBENCH_MAX_OVERFLOW": str(plan.max_overflow),
    }


def uvicorn_argv(plan: LoadPlan, implementation: str, port: int) -> list[str]:
    return [
        sys.executable, "-m", "uvicorn",
        f"implementations.{implementation}.app:create_app", "--factory",
        "--host", plan.bind, "--port", str(port),
        "--workers", str(plan.server_workers),
        "--loop", "uvloop", "--http", "httptools",
        "--no-access-log", "--log-level", "warning",
        "--timeout-graceful-shutdown", "10",
    ]  # fmt: skip


def locust_argv(plan: LoadPlan, target: str, folder: Path, master_port: int) -> list[str]:
    """The master's (or the single process's) command line."""
    argv = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE),
        "-H", target, "-u", str(plan.users), "-r", f"{plan.spawn_rate:g}",
        "--seeded-users", str(plan.seeded_users),
        "--tasks-per-user", str(plan.tasks_per_user),
        "--task-rate", f"{plan.rate / plan.users:g}",
        "--json-file", str(folder / figures.LOCUST_PREFIX),
        "--csv", str(folder / figures.LOCUST_PREFIX),
        "--html", str(folder / "locust.html"),
        "--statements-file", str(folder / figures.STATEMENTS_JSON),
    ]  # fmt: skip
    if plan.tags:
        argv += ["--tags", *plan.tags]
    if plan.exclude_tags:
        argv += ["--exclude-tags", *plan.exclude_tags]
    if plan.ui:
        argv += ["--web-host", "127.0.0.1", "--web-port", str(plan.ui_port)]
    else:
        argv += ["--headless", "--only-summary", "-t", f"{plan.duration_s}s"]
        argv += ["--stop-timeout", str(LOCUST_STOP_TIMEOUT_S)]
    if plan.distributed:
        argv += ["--master", "--master-bind-host", plan.bind]
        argv += ["--master-bind-port", str(master_port)]
        if not plan.ui:
            argv += ["--expect-workers", str(plan.workers + plan.remote_workers)]
            argv += ["--expect-workers-max-wait", "120"]
    return argv


def worker_argv(master_port: int) -> list[str]:
    return [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE),
        "--worker", "--master-host", "127.0.0.1", "--master-port", str(master_port),
    ]  # fmt: skip


def seed(url: str, plan: LoadPlan) -> None:
    """The same rows, ids and statistics for every implementation. The connection closes
    afterwards: during the run, every connection to the database is the server's."""
    db = Database(url)
    try:
        db.reset()
        users_and_tasks(db, plan.seeded_users, plan.tasks_per_user)
        # So that no checkpoint of the last run's writes lands in this run (where allowed).
        with suppress(psycopg2.errors.InsufficientPrivilege):
            db.execute("CHECKPOINT")
    finally:
        db.close()


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def warm_up(base: str) -> None:
    """A few reads, one at a time: imports, first statements and prepares are paid here."""
    for _ in range(WARMUP_ROUNDS):
        for path in WARMUP_PATHS:
            with urllib.request.urlopen(base + path, timeout=30) as response:
                response.read()


def run_one(
    plan: LoadPlan,
    implementation: str,
    url: str,
    folder: Path,
    say: Callable[[str], None],
) -> dict[str, Any]:
    """Serve ``implementation`` on ``url`` (already seeded) and put it under load."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base = f"http://{plan.public_host}:{port}"
    with processes.started(
        f"uvicorn ({implementation})",
        uvicorn_argv(plan, implementation, port),
        folder / "uvicorn.log",
        server_env(plan, url),
    ) as server:
        health = processes.wait_for_http(server, f"{base}/health")
        if f'"implementation":"{implementation}"' not in health.decode():
            raise processes.ProcessError(f"port {port} answered as another server: {health!r}")
        warm_up(base)
        server_cpu = server.cpu_seconds()
        with PoolSampler(url) as sampler:
            locust = run_locust(plan, base, folder, say)
        server_cpu = server.cpu_seconds() - server_cpu
    run = figures.read_run(folder, None if plan.ui else plan.duration_s)
    run.update(
        implementation=implementation,
        folder=folder.name,
        locust_exit_code=locust["exit_code"],
        pool=sampler.figures(plan.pool_max),
        server_cpu_s=round(server_cpu, 3),
        server_cpu_ms_per_request=(
            round(server_cpu * 1000 / run["requests"], 3) if run["requests"] else None
        ),
        locust_cpu_s=round(locust["cpu_s"], 3),
        locust_cpu_share=round(locust["cpu_s"] / run["window_s"], 3) if run["window_s"] else None,
    )
    return run


def run_locust(
    plan: LoadPlan, target: str, folder: Path, say: Callable[[str], None]
) -> dict[str, Any]:
    """Locust (a master and its local workers, or one process) until its time is up, or, with
    the web UI, until Ctrl-C. Returns its exit code and the CPU time it used."""
    master_port = plan.master_port or free_port()
    cpu_before = _children_cpu()
    with ExitStack() as stack:
        master = stack.enter_context(
            processes.started(
                "locust", locust_argv(plan, target, folder, master_port), folder / "locust.log"
            )
        )
        workers = [
            stack.enter_context(
                processes.started(
                    f"locust worker {n}", worker_argv(master_port), folder / f"worker-{n}.log"
                )
            )
            for n in range(1, plan.workers + 1)
        ]
        if plan.remote_workers:
            say(
                f"waiting for {plan.remote_workers} remote worker(s): locust -f - --worker"
                f" --master-host {plan.public_host} --master-port {master_port}"
            )
        if plan.ui:
            say(f"locust's web UI: http://127.0.0.1:{plan.ui_port} against {target} (Ctrl-C ends)")
            try:
                code = master.wait(timeout=None)
            except KeyboardInterrupt:
                with processes.uninterrupted():
                    code = master.stop()  # SIGTERM: locust writes its reports
        else:
            code = master.wait(plan.duration_s + STARTUP_ALLOWANCE_S)
        for worker in workers:
            worker.wait(30)  # a worker quits when its master does
    # Every locust process has been reaped: its CPU time is in RUSAGE_CHILDREN now.
    return {"exit_code": code, "cpu_s": _children_cpu() - cpu_before}


def plan_dict(plan: LoadPlan) -> dict[str, Any]:
    return {**asdict(plan), "pool_max": plan.pool_max, "sequence": plan.sequence()}


def run_all(
    plan: LoadPlan, url: str, out: Path, say: Callable[[str], None], runs: list[dict[str, Any]]
) -> None:
    """Every (round, implementation) of the plan on the database at ``url``, reseeded before
    each; one folder per run, numbered in running order. Each run's figures are appended to
    ``runs`` as it ends, so an interrupted run keeps what it measured."""
    sequence = plan.sequence()
    for position, (round_number, implementation) in enumerate(sequence, 1):
        say(f"[{position}/{len(sequence)}] {implementation}: seeding")
        seed(url, plan)
        folder = out / f"{position:02d}-{implementation}"
        run = run_one(plan, implementation, url, folder, say)
        run["round"] = round_number
        runs.append(run)
        say(
            f"[{position}/{len(sequence)}] {implementation}: {run['requests']} requests, "
            f"{run['rps']:.0f} req/s, p95 {run['p95_ms']:g} ms, {run['failures']} failures"
        )
