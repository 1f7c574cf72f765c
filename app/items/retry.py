"""Waiting for a database at start-up: retry with backoff, for a bounded time."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from app.errors import StorageUnavailable
from app.logs import get_logger

T = TypeVar("T")

logger = get_logger("app.items.store")


async def retry_until_available(
    connect: Callable[[], Awaitable[T]], give_up_after: float, first_delay: float = 0.1, max_delay: float = 5.0
) -> T:
    """Call `connect` until it stops raising `StorageUnavailable`, backing off, for at most `give_up_after` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + give_up_after
    delay = first_delay
    while True:
        try:
            return await connect()
        except StorageUnavailable as exc:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise
            delay = min(delay, remaining)
            logger.warning(
                "database unavailable, retrying", error=str(exc.__cause__ or exc), retry_in_s=round(delay, 2)
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay)
