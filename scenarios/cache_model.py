"""The caching scenario's picture of the data: what every read should answer at its place in a
batch, and every answer each user's data ever had, to tell a stale read from a wrong one.

Built once from the seeded rows (untimed) and kept in step with the writes a batch will make,
in order, while the batch's ops are generated; so each read carries its expected answer and
no call needs the database to be checked.
"""

import random
from dataclasses import dataclass, field
from typing import Any

from scenarios import Op, seed, shapes

Answer = tuple[Any, ...]  # a read's answer, reduced to what can be compared
READS = ("stats", "tasks")


@dataclass
class Model:
    owner: dict[int, int]  # task id -> user id
    completed: dict[int, bool]
    priority: dict[int, int]
    age: dict[int, tuple[Any, int]]  # task id -> its listing order key (created_at, id)
    owned: dict[int, set[int]]  # user id -> task ids
    list_limit: int
    history: dict[tuple[str, int], set[Answer]] = field(default_factory=dict)

    @classmethod
    def read(cls, db: seed.Database, list_limit: int) -> "Model":
        rows = db.all("SELECT id, user_id, completed, priority, created_at FROM tasks")
        users = [row["id"] for row in db.all("SELECT id FROM users")]
        model = cls(
            owner={r["id"]: r["user_id"] for r in rows},
            completed={r["id"]: r["completed"] for r in rows},
            priority={r["id"]: r["priority"] for r in rows},
            age={r["id"]: (r["created_at"], r["id"]) for r in rows},
            owned={user: set() for user in users},
            list_limit=list_limit,
        )
        for task, user in model.owner.items():
            model.owned[user].add(task)
        for user in users:
            model.note(user)
        return model

    def answer(self, kind: str, user_id: int) -> Answer:
        tasks = self.owned[user_id]
        if kind == "stats":
            total = len(tasks)
            done = sum(self.completed[t] for t in tasks)
            average = sum(self.priority[t] for t in tasks) / total if total else 0.0
            return total, done, total - done, round(average, 9)
        # The API's listing: newest first, ties by id descending, first page only.
        newest = sorted(tasks, key=lambda t: self.age[t], reverse=True)
        return tuple(newest[: self.list_limit])

    def note(self, user_id: int) -> None:
        for kind in READS:
            self.history.setdefault((kind, user_id), set()).add(self.answer(kind, user_id))

    def transfer(self, task_id: int, to_user_id: int) -> None:
        self.owned[self.owner[task_id]].discard(task_id)
        self.owned[to_user_id].add(task_id)
        previous, self.owner[task_id] = self.owner[task_id], to_user_id
        self.note(previous)
        self.note(to_user_id)


def observed(kind: str, result: Any) -> Answer:
    """A read's result, as ``Model.answer`` shapes it (from a model, an entity or a dict)."""
    if kind == "stats":
        got = shapes.plain(result, ("total", "completed", "pending", "avg_priority"))
        return got["total"], got["completed"], got["pending"], round(got["avg_priority"], 9)
    return tuple(shapes.field(task, "id") for task in result)


@dataclass
class Workload:
    """Generates batches of reads and writes over many users, mostly a few hot ones."""

    model: Model
    users: list[int]
    hot: list[int]
    hot_share: float  # of reads and writes that go to the hot users
    write_share: float  # of calls that are writes
    tasks_share: float  # of reads that list tasks rather than read stats
    calls: int = 0
    base: dict[tuple[str, int], Answer] = field(init=False)

    def __post_init__(self) -> None:
        # The seeded answers: what a variant that never writes (the stampede) must read.
        self.base = {(k, user): self.model.answer(k, user) for k in READS for user in self.users}

    def user(self, rng: random.Random) -> int:
        return rng.choice(self.hot if rng.random() < self.hot_share else self.users)

    def batch(self, count: int) -> list[Op]:
        """``count`` calls: reads, each with its expected answer, and writes in pairs, a
        transfer and later in the same batch its way back, so every batch ends with the data
        as seeded and no batch of one pair changes what another pair's cache holds. The last
        call reads stats, so that the call the runner verifies and describes is alike in
        every batch."""
        rng = random.Random(seed.SEED + self.calls)
        self.calls += count
        ops = self._mix(rng, count - 1)
        return [*ops, self._read(rng, kind="stats")]

    def _mix(self, rng: random.Random, count: int) -> list[Op]:
        pairs = min(count // 2, int(count * self.write_share / 2 + rng.random()))
        positions = rng.sample(range(count), 2 * pairs)
        back_at = {}
        for first, second in zip(positions[::2], positions[1::2], strict=True):
            back_at[min(first, second)] = max(first, second)
        pending: dict[int, Op] = {}  # position of a way back -> its op
        moving: set[int] = set()
        ops: list[Op] = []
        for position in range(count):
            if position in pending:
                ops.append(self._write(pending.pop(position)))
            elif position in back_at:
                there = self._transfer(rng, moving)
                ops.append(self._write(there))
                pending[back_at[position]] = {
                    **there,
                    "from_user_id": there["to_user_id"],
                    "to_user_id": there["from_user_id"],
                }
            else:
                ops.append(self._read(rng))
        return ops

    def _read(self, rng: random.Random, kind: str | None = None) -> Op:
        kind = kind or ("tasks" if rng.random() < self.tasks_share else "stats")
        return self.read(kind, self.user(rng), rng.choice("ab"))

    def read(self, kind: str, user: int, worker: str = "a") -> Op:
        """A read of ``user``'s ``kind``, expecting what the data holds now."""
        return {
            "kind": kind,
            "user_id": user,
            "worker": worker,
            "expected": self.model.answer(kind, user),
            "seen": self.model.history[(kind, user)],  # every answer it ever had (shared)
            "base_stats": self.base[("stats", user)],  # for a stampede, which never writes
        }

    def _transfer(self, rng: random.Random, moving: set[int]) -> Op:
        # Between hot users: a write matters to a cache where the reads are.
        for _ in range(100):
            sender, receiver = rng.choice(self.hot), rng.choice(self.hot)
            tasks = sorted(self.model.owned[sender] - moving)
            if sender != receiver and tasks:
                task = rng.choice(tasks)
                moving.add(task)
                return {"task_id": task, "from_user_id": sender, "to_user_id": receiver}
        raise RuntimeError("no task to transfer: the caching scenario needs users with tasks")

    def _write(self, transfer: Op) -> Op:
        worker = "a" if transfer["task_id"] % 2 else "b"
        return self.write(
            transfer["task_id"], transfer["from_user_id"], transfer["to_user_id"], worker
        )

    def write(self, task_id: int, sender: int, receiver: int, worker: str = "a") -> Op:
        """A transfer of ``task_id`` from ``sender`` to ``receiver``; what reads expect moves
        with it."""
        self.model.transfer(task_id, receiver)
        return {
            "task_id": task_id,
            "from_user_id": sender,
            "to_user_id": receiver,
            "kind": "write",
            "user_id": sender,  # whose entry a stampede on this call misses
            "worker": worker,
            "base_stats": self.base[("stats", sender)],
        }
