"""The app's response class: Litestar's `Response`, encoded to bytes in one step.

Litestar turns every response into an `ASGIResponse` through a general path: it merges header
maps, type encoders and cookies, builds a case-insensitive header multimap and probes it for
defaults. That costs about 5 µs, a tenth of a whole request to GET /health. The service's responses
are JSON with a handful of plain headers, so they are encoded here directly into the list of byte
pairs that the ASGI server sends. A response that uses anything else (cookies, background tasks,
type encoders, HEAD, a non-JSON media type, a status without a body) takes Litestar's path unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, TypeVar, cast

import msgspec
from litestar import MediaType, Response
from litestar.datastructures import MutableScopeHeaders
from litestar.response.base import ASGIResponse
from litestar.serialization import default_serializer
from litestar.utils import get_enum_string_value

if TYPE_CHECKING:
    from litestar import Litestar, Request
    from litestar.background_tasks import BackgroundTask, BackgroundTasks
    from litestar.datastructures import Cookie
    from litestar.types import ResponseCookies, ResponseHeaders, TypeEncodersMap

T = TypeVar("T")

# Litestar's serializer only runs for types msgspec cannot encode itself, which the service never returns.
_encoder = msgspec.json.Encoder(enc_hook=default_serializer)
_JSON_MEDIA_TYPES = frozenset({"application/json", "application/problem+json"})
_STATUSES_WITHOUT_BODY = frozenset({HTTPStatus.NO_CONTENT, HTTPStatus.NOT_MODIFIED})


class JSONResponse(Response[T]):
    """A response whose JSON body and headers are encoded once, straight to what the server sends."""

    __slots__ = ()
    response_type_encoders: TypeEncodersMap

    def __init__(  # noqa: PLR0913 - Litestar's signature
        self,
        content: T,
        *,
        background: BackgroundTask | BackgroundTasks | None = None,
        cookies: ResponseCookies | None = None,
        encoding: str = "utf-8",
        headers: ResponseHeaders | None = None,
        media_type: MediaType | str | None = None,
        status_code: int | None = None,
        type_encoders: TypeEncodersMap | None = None,
    ) -> None:
        if cookies or type_encoders or self.type_encoders or (headers is not None and type(headers) is not dict):
            super().__init__(
                content,
                background=background,
                cookies=cookies,
                encoding=encoding,
                headers=headers,
                media_type=media_type,
                status_code=status_code,
                type_encoders=type_encoders,
            )
            return
        # What Litestar's constructor sets, without its normalising of cookie and header collections
        # (generic isinstance checks that cost a microsecond) when there are none to normalise.
        self.content = content
        self.background = background
        self.cookies = []
        self.encoding = encoding
        self.headers = {} if headers is None else dict(cast("dict[str, Any]", headers))
        self.media_type = media_type
        self.status_code = status_code
        self.response_type_encoders = {}

    def to_asgi_response(  # noqa: PLR0913 - Litestar's signature
        self,
        app: Litestar | None,
        request: Request[Any, Any, Any],
        *,
        background: BackgroundTask | BackgroundTasks | None = None,
        cookies: Iterable[Cookie] | None = None,
        encoded_headers: Iterable[tuple[bytes, bytes]] | None = None,
        headers: dict[str, str] | None = None,
        is_head_response: bool = False,
        media_type: str | None = None,
        status_code: int | None = None,
        type_encoders: TypeEncodersMap | None = None,
    ) -> ASGIResponse:
        resolved_media_type = get_enum_string_value(self.media_type or media_type or MediaType.JSON)
        resolved_status = self.status_code or status_code or HTTPStatus.OK
        if (
            resolved_status in _STATUSES_WITHOUT_BODY
            or resolved_status < HTTPStatus.OK
            or app is not None
            or background is not None
            or self.background is not None
            or cookies
            or self.cookies
            or encoded_headers is not None
            or is_head_response
            or type_encoders
            or self.response_type_encoders
            or resolved_media_type not in _JSON_MEDIA_TYPES
        ):
            return super().to_asgi_response(  # pyright: ignore[reportUnknownMemberType] - Litestar leaves Request's parameters open
                app,
                request,
                background=background,
                cookies=cookies,
                encoded_headers=encoded_headers,
                headers=headers,
                is_head_response=is_head_response,
                media_type=media_type,
                status_code=status_code,
                type_encoders=type_encoders,
            )
        body = self.content if isinstance(self.content, bytes) else _encoder.encode(self.content)
        merged_headers = {**headers, **self.headers} if headers else self.headers
        return EncodedResponse(body, resolved_status, resolved_media_type, merged_headers)


class EncodedResponse(ASGIResponse):
    """An `ASGIResponse` built from a finished body, skipping the checks its constructor makes.

    Only what `JSONResponse` hands over reaches it: a JSON body, a status that allows one, plain
    headers.
    """

    __slots__ = ()

    def __init__(self, body: bytes, status_code: int, media_type: str, headers: dict[str, str]) -> None:  # pyright: ignore[reportMissingSuperCall] - the checks are what this skips
        raw_headers = [(b"content-type", media_type.encode()), (b"content-length", str(len(body)).encode())]
        raw_headers += [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]
        # A view over the list, as Litestar's own responses have, for anything that reads headers later.
        self.headers = MutableScopeHeaders({"headers": raw_headers})  # pyright: ignore[reportArgumentType]
        self.body = body
        self.status_code = status_code
        self.content_length = len(body)
        self.background = None
        self.encoding = "utf-8"
        self.is_head_response = False
        self._encoded_cookies = ()
