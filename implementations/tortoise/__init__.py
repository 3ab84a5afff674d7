"""Tortoise ORM 1.x on asyncpg; FastAPI runs its ``async def`` endpoints on the event loop.

This package is ``implementations.tortoise``; its modules import the library with absolute
imports (``from tortoise import ...``), which never resolve to this folder.
"""
