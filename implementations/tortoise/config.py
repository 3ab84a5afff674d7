"""``TORTOISE_ORM``: the config Tortoise's own CLI reads (``[tool.tortoise]`` in pyproject.toml).

Only the migration commands use it (``tortoise makemigrations``, ``tortoise migrate``); the app
builds its config in ``database.py``, with the pool sized and counted like every other
implementation's. The URL comes from the same settings as the apps (``DATABASE_URL``).
"""

from implementations.contract.settings import Settings
from implementations.tortoise.database import MODELS

TORTOISE_ORM = {
    "connections": {"default": Settings().url_for("tortoise")},
    "apps": {
        "models": {
            "models": [MODELS],
            "default_connection": "default",
            "migrations": "implementations.tortoise.migrations",
        }
    },
    "use_tz": True,
    "timezone": "UTC",
}
