"""``ormbench load``: every implementation under the same HTTP traffic, from locust.

Locust runs only as a subprocess, never imported here: ``import locust`` patches the standard
library's sockets for gevent. ``locustfile.py`` is the traffic; ``runner.py`` serves each
implementation and runs locust against it; ``figures.py`` reads what locust wrote;
``pool.py`` samples the pool from PostgreSQL; ``comparison.py`` writes the comparison;
``thresholds.py`` holds ``--fail-on``; ``processes.py`` starts and stops process groups.
"""

from pathlib import Path

LOCUSTFILE = Path(__file__).resolve().with_name("locustfile.py")
