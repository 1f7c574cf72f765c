"""Waiting for a database at start-up: retry with backoff, for a bounded time (tenacity)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import TypeVar, cast

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_before_delay, wait_exponential

from app.db.errors import StorageUnavailable
from app.observability.logs import get_logger

T = TypeVar("T")

logger = get_logger("app.db")


def _log_retry(state: RetryCallState) -> None:
    # Called before each wait, so the outcome is set: the attempt that failed.
    error = cast("Future[object]", state.outcome).exception()
    logger.warning(
        "database unavailable, retrying",
        error=str(getattr(error, "__cause__", None) or error),
        retry_in_s=round(state.upcoming_sleep, 2),
    )


async def retry_until_available(
    connect: Callable[[], Awaitable[T]], give_up_after: float, first_delay: float = 0.1, max_delay: float = 5.0
) -> T:
    """Call `connect` until it stops raising `StorageUnavailable`, backing off, for at most `give_up_after` seconds."""
    retrying = AsyncRetrying(
        retry=retry_if_exception_type(StorageUnavailable),
        wait=wait_exponential(multiplier=first_delay, max=max_delay),
        # No attempt starts after the deadline: a wait that would end past it ends the retrying instead.
        stop=stop_before_delay(give_up_after),
        before_sleep=_log_retry,
        reraise=True,
    )
    return await retrying(connect)
