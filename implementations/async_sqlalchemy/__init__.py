"""SQLAlchemy 2.x ORM with an AsyncSession on asyncpg; FastAPI runs its ``async def``
endpoints on the event loop."""
