"""SQLAlchemy 2.x ORM with a sync Session on psycopg2; FastAPI runs its ``def`` endpoints
in a threadpool."""
