"""The base of every metrics repository: one session; flushes, never commits."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession


class Repository:
    """Queries in one session; each aggregate's repository adds its own."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: object) -> None:
        """Insert a row."""
        self.session.add(row)
        await self.session.flush()
