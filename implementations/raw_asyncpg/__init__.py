"""Hand-written SQL on asyncpg: the async floor, what every async implementation is measured
against. Its ``async def`` endpoints run on the event loop."""
