"""The token verifier's life: its key set is fetched when the app starts and its client closed when it stops."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from litestar import Litestar

from app.settings import AuthSettings

KeySetLifespan = Callable[[Litestar], AbstractAsyncContextManager[None]]


def token_verifier(settings: AuthSettings | None) -> KeySetLifespan:
    """A lifespan that puts the verifier in `app.state.token_verifier` (None keeps access open)."""

    @asynccontextmanager
    async def verifier_in_state(app: Litestar) -> AsyncGenerator[None]:
        if settings is None:
            yield
            return
        # Imported only here: PyJWT, cryptography and httpx take about 12 MiB that an open service never needs.
        from app.auth.keys import IssuerKeys  # noqa: PLC0415
        from app.auth.tokens import TokenVerifier  # noqa: PLC0415

        # Made here, on the loop that serves requests: its httpx client belongs to the loop it was made on.
        keys = IssuerKeys(settings)
        # Fetched before the first request, which then need not wait. A provider that is down delays start-up
        # by FETCH_TIMEOUT_S at most; protected operations then answer 503 until it is back.
        await keys.refresh()
        app.state.token_verifier = TokenVerifier(settings, keys)
        try:
            yield
        finally:
            await keys.close()

    return verifier_in_state
