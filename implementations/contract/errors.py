"""Domain errors, their HTTP status codes, and every 404/409 text, defined once.

crud code raises these; each app maps them to ``{"detail": ...}`` with ``install``
(see ``http.py``), so every implementation answers with the same words.
"""

USER_NOT_FOUND = "User not found"
TASK_NOT_FOUND = "Task not found"
EMAIL_TAKEN = "Email already registered"
USERNAME_TAKEN = "Username already taken"
TITLE_TAKEN = "Title already used by this user"

# Constraint names fixed by the schema (models' naming convention), mapped to what a client
# is told when an INSERT or UPDATE violates them. Checking the constraint the database
# reports, instead of SELECTing first, costs no extra statement and has no race.
UNIQUE_VIOLATIONS = {
    "uq_users_email": EMAIL_TAKEN,
    "uq_users_username": USERNAME_TAKEN,
    "uq_tasks_user_id_title": TITLE_TAKEN,
}
FOREIGN_KEY_VIOLATIONS = {
    "fk_tasks_user_id_users": USER_NOT_FOUND,
}


class DomainError(Exception):
    status_code = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409


def tasks_not_found(missing_ids: set[int]) -> NotFound:
    """404 for a bulk request naming ids that do not exist (listed, ascending)."""
    return NotFound(f"{TASK_NOT_FOUND}: {', '.join(map(str, sorted(missing_ids)))}")


def from_constraint(constraint_name: str | None) -> DomainError | None:
    """The domain error for a violated constraint, or None if it is not one the API expects."""
    if constraint_name in UNIQUE_VIOLATIONS:
        return Conflict(UNIQUE_VIOLATIONS[constraint_name])
    if constraint_name in FOREIGN_KEY_VIOLATIONS:
        return NotFound(FOREIGN_KEY_VIOLATIONS[constraint_name])
    return None
