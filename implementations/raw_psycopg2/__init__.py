"""Hand-written SQL on psycopg2: the sync floor, what every sync implementation is measured
against. FastAPI runs its ``def`` endpoints in a threadpool."""
