"""Strict JSON request bodies.

Litestar decodes bodies in msgspec's lax mode, which turns `"5"` into `5` and `"true"` into `True`.
The contract says operands and fields must be real JSON values of the declared type, so request
bodies are decoded here, strictly, straight into the handler's declared type. Litestar then passes
the already-typed object through its own (lax) conversion unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from typing import Any, get_type_hints

import msgspec
from litestar import Request

from app.http.errors import FieldError, InvalidInput, MalformedJSON, UnsupportedMediaType


class StrictJSONRequest(Request[Any, Any, Any]):
    """The request class of the app: `json()` enforces the content type and decodes strictly."""

    __slots__ = ()

    @property
    def content_length(self) -> int | None:
        # Litestar builds a map of every header to read this one; a pass over the raw pairs is enough.
        # uvicorn has already refused a Content-Length that is not a number.
        raw = _raw_header(self.scope["headers"], b"content-length")
        return None if raw is None else int(raw)

    async def json(self) -> Any:
        raw_content_type = _raw_header(self.scope["headers"], b"content-type") or b""
        media_type = raw_content_type.partition(b";")[0].strip().lower().decode("latin-1")
        # A missing Content-Type is read as JSON: clients of the old service (`curl -d`) rely on it.
        if media_type and media_type != "application/json" and not media_type.endswith("+json"):
            raise UnsupportedMediaType(media_type)
        return decode_strict(await self.body(), body_type(self.route_handler.fn))


@cache
def body_type(handler: Callable[..., Any]) -> Any:
    """The type a handler declares for its body (`data: JSONBody[T]` is T), read from its annotations once."""
    return get_type_hints(handler).get("data", Any)


def _raw_header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    """The first value of header `name` (lower case, as ASGI servers pass names)."""
    for header_name, value in headers:
        if header_name == name:
            return value
    return None


def decode_strict(body: bytes, target: Any) -> Any:
    """Decode a JSON body into `target`; raise `MalformedJSON` (400) or `InvalidInput` (422)."""
    try:
        return _decoder(target).decode(body)
    except msgspec.ValidationError as exc:
        # msgspec checks types while it parses, so a body cut short can fail on a type before its syntax
        # error is reached. Only well-formed JSON of the wrong shape is a 422.
        syntax_error = _syntax_error(body)
        if syntax_error is not None:
            raise _malformed(syntax_error) from None
        raise InvalidInput([field_error(str(exc))]) from None
    except msgspec.DecodeError as exc:
        raise _malformed(exc) from None
    except UnicodeDecodeError:
        raise MalformedJSON("The request body is not valid UTF-8.") from None
    except RecursionError:
        # Unknown fields are skipped, not decoded, but msgspec still walks them recursively.
        raise MalformedJSON("The request body nests arrays or objects deeper than this service reads.") from None


def _syntax_error(body: bytes) -> msgspec.DecodeError | None:
    """What makes `body` malformed JSON, if anything, whatever the types and sizes of its values."""
    try:
        msgspec.json.decode(body, type=msgspec.Raw)
    except msgspec.DecodeError as exc:
        return exc
    except RecursionError:
        return None  # too deep to tell here: the type error found first stands
    return None


def _malformed(error: msgspec.DecodeError) -> MalformedJSON:
    return MalformedJSON(f"The request body is not valid JSON: {error}.")


@cache
def _decoder(target: Any) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(target, strict=True)


def field_error(message: str) -> FieldError:
    """Split msgspec's "<reason> - at `$.a.b`" into the field (`a.b`) and the reason."""
    reason, _, location = message.partition(" - at `$")
    path = location.rstrip("`").lstrip(".")
    return FieldError(field=path or "body", message=reason)
