"""The API under HTTP load: the reads and writes a task service sees, in one locust user.

Run by ``ormbench load`` (which seeds the data and serves each implementation), or by hand
against any served implementation whose database holds the same seeded users and tasks:

    locust -f benchmarks/load/locustfile.py -H http://127.0.0.1:8000 --seeded-users 1000

Every request is named by its route (``name=``), so a page of any user counts as one
endpoint; tasks are tagged ``read``/``write`` and by the benchmark family they exercise
(``--tags eager_loading``). Each response's ``X-Query-Count`` and ``X-Round-Trips`` are
recorded per endpoint and written beside locust's own statistics (``--statements-file``).

The writes never make a later request fail: new titles are unique, no row is deleted, a task
is transferred only by the user that created it (who therefore knows its owner), and updates
go to seeded tasks, which always exist. A failure in the statistics is a real failure: an
error status, or an answer that is wrong.

This file imports nothing from ormbench, so a locust worker on another host needs only
locust (or ``-f -``, which fetches this file from the master).
"""

import json
import random
import uuid
from collections import Counter, defaultdict

from locust import FastHttpUser, constant, constant_throughput, events, tag, task
from locust.runners import WorkerRunner

BULK_ITEMS = 3  # tasks per PATCH /tasks/bulk
PAGE = 10  # users per page of GET /users/with-tasks
REQUEST_TIMEOUT_S = 10.0


class ApiUser(FastHttpUser):
    # An answer that takes longer is a failure, as it would be for a client that gives up.
    # Without a bound, requests still stuck when the run ends vanish from the statistics.
    network_timeout = connection_timeout = REQUEST_TIMEOUT_S

    def wait_time(self) -> float:
        return self.pace(self)

    def on_start(self) -> None:
        options = self.environment.parsed_options  # a worker has the master's by now
        # Closed loop by default: the next request leaves when the last answer arrived.
        # ``--task-rate R``: each user starts R tasks a second, whatever the answers take.
        rate = options.task_rate
        self.pace = constant_throughput(rate) if rate > 0 else constant(0)
        self.seeded_users = options.seeded_users
        self.seeded_tasks = options.seeded_users * options.tasks_per_user
        self.movable: int | None = None  # the task this user transfers (see transfer)

    def some_user(self) -> int:
        return random.randint(1, self.seeded_users)

    def some_task(self) -> int:
        return random.randint(1, self.seeded_tasks)

    @tag("read", "crud")
    @task(8)
    def get_user(self) -> None:
        self.client.get(f"/users/{self.some_user()}", name="/users/{id}")

    @tag("read", "filter_sort")
    @task(6)
    def list_tasks(self) -> None:
        query = "completed=false&priority_min=2&sort_by=priority&limit=20"
        with self.client.get(
            f"/users/{self.some_user()}/tasks?{query}",
            name="/users/{id}/tasks?filtered",
            catch_response=True,
        ) as response:
            if response.status_code == 200 and any(
                t["completed"] or t["priority"] < 2 for t in response.json()
            ):
                response.failure("a task outside the filter")

    @tag("read", "eager_loading")
    @task(2)
    def users_with_tasks(self) -> None:
        skip = random.randint(0, max(self.seeded_users - PAGE, 0))
        self.client.get(f"/users/with-tasks?skip={skip}&limit={PAGE}", name="/users/with-tasks")

    @tag("read", "aggregation")
    @task(4)
    def user_stats(self) -> None:
        self.client.get(f"/users/{self.some_user()}/stats", name="/users/{id}/stats")

    @tag("write", "crud")
    @task(3)
    def create_task(self) -> None:
        body = {"title": new_title(), "priority": random.randint(0, 5)}
        self.client.post(f"/users/{self.some_user()}/tasks", json=body, name="/users/{id}/tasks")

    @tag("write", "crud")
    @task(3)
    def update_task(self) -> None:
        # A new description every time: an ORM sends no UPDATE for a change to the same value.
        body = {"description": f"edited {uuid.uuid4().hex}", "priority": random.randint(0, 5)}
        self.client.patch(f"/tasks/{self.some_task()}", json=body, name="/tasks/{id}")

    @tag("write", "bulk_update")
    @task(1)
    def bulk_update(self) -> None:
        ids = random.sample(range(1, self.seeded_tasks + 1), BULK_ITEMS)
        body = [{"id": i, "completed": random.random() < 0.5} for i in ids]
        self.client.patch("/tasks/bulk", json=body, name="/tasks/bulk")

    @tag("write", "transactions")
    @task(1)
    def transfer(self) -> None:
        if self.movable is None:
            # The first time, a task of its own, which only this user moves: it always knows
            # the owner, so a transfer never names the wrong sender.
            self.owner = self.some_user()
            created = self.client.post(
                f"/users/{self.owner}/tasks", json={"title": new_title()}, name="/users/{id}/tasks"
            )
            self.movable = created.json()["id"] if created.status_code == 201 else None
            return
        receiver = self.some_user()
        while receiver == self.owner:
            receiver = self.some_user()
        body = {"from_user_id": self.owner, "to_user_id": receiver}
        with self.client.post(
            f"/tasks/{self.movable}/transfer",
            json=body,
            name="/tasks/{id}/transfer",
            catch_response=True,
        ) as response:
            if response.status_code == 200:
                self.owner = response.json()["user_id"]
                if self.owner != receiver:
                    response.failure(f"moved to user {self.owner}, not {receiver}")
            else:  # an answer lost in transit may have moved it: ask where it is now
                found = self.client.get(f"/tasks/{self.movable}", name="/tasks/{id}")
                if found.status_code == 200:
                    self.owner = found.json()["user_id"]


def new_title() -> str:
    return f"load {uuid.uuid4().hex}"  # unique for any user: a create or transfer never clashes


# --- statements per endpoint: recorded on every node, summed on the master -------------------


@events.init_command_line_parser.add_listener
def _(parser) -> None:
    parser.add_argument("--seeded-users", type=int, default=1000, help="users 1..N exist")
    parser.add_argument("--tasks-per-user", type=int, default=20, help="tasks seeded per user")
    parser.add_argument(
        "--task-rate", type=float, default=0, help="tasks per second per user (0: closed loop)"
    )
    parser.add_argument("--statements-file", default="", help="write per-endpoint counts here")


# endpoint ("GET /users/{id}") -> header -> value -> responses with that value
counts: defaultdict[str, defaultdict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))


@events.init.add_listener
def on_locust_init(environment, **_) -> None:
    options = environment.parsed_options

    def write(**_) -> None:
        if options and options.statements_file and not isinstance(environment.runner, WorkerRunner):
            with open(options.statements_file, "w") as file:
                json.dump(counts, file, indent=2, sort_keys=True)

    events.quit.add_listener(write)  # after the workers' last reports, as --json-file is


@events.request.add_listener
def on_request(request_type, name, response, exception, **_) -> None:
    headers = getattr(response, "headers", None) or {}
    for header in ("X-Query-Count", "X-Round-Trips"):
        if (value := headers.get(header)) is not None:
            counts[f"{request_type} {name}"][header][value] += 1


@events.report_to_master.add_listener
def on_report_to_master(data, **_) -> None:
    data["statements"] = {k: {h: dict(c) for h, c in v.items()} for k, v in counts.items()}
    counts.clear()  # each report carries what is new since the last


@events.worker_report.add_listener
def on_worker_report(data, **_) -> None:
    for endpoint, headers in data.get("statements", {}).items():
        for header, values in headers.items():
            counts[endpoint][header].update(values)
