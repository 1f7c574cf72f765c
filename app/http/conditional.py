"""Conditional requests (RFC 9110, section 13): entity tags, If-Match and If-None-Match.

An item's entity tag is its version, a number the database raises with every change: strong, and
different for every state the item has been in. Only the tags this service made can match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import NamedTuple

from app.http.errors import ServiceError

# RFC 9110, sections 8.8.3 and 13.1.1: "*", or a list of entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE (this
# service leaves out obs-text, which its own tags never hold), where empty list elements are allowed (section
# 5.6.1.2). The API document gives the pattern to the headers, and Litestar refuses a value that does not match it
# (422) before a handler reads it. Each step of the pattern begins with a character no other step begins with, so
# a match is found in one pass: a pattern with two ways through (optional spaces on both sides of a comma) took
# exponential time on a short hostile header, on the event loop.
ENTITY_TAG = r'(W/)?"([\x21\x23-\x7e]*)"'
PRECONDITION_PATTERN = r'^(?:[ \t]*\*[ \t]*|(?:[ \t,]|(?:W/)?"[\x21\x23-\x7e]*")*)$'
MAX_PRECONDITION_LENGTH = 1024
VERSION = re.compile(r"[1-9][0-9]{0,17}")


class PreconditionFailed(ServiceError):
    status = HTTPStatus.PRECONDITION_FAILED
    slug = "precondition-failed"


class PreconditionRequired(ServiceError):
    status = HTTPStatus.PRECONDITION_REQUIRED
    slug = "precondition-required"

    def __init__(self) -> None:
        super().__init__(
            "This service changes an item only under If-Match: send the ETag you last read (or * for any version)."
        )


@dataclass(frozen=True, slots=True)
class Precondition:
    """What an If-Match or If-None-Match header asks for: any current version, or one of these."""

    any_version: bool
    versions: frozenset[int]
    weak_versions: frozenset[int]  # tags sent as W/"n": only If-None-Match may match them (weak comparison)


class Preconditions(NamedTuple):
    """What a write's If-Match and If-None-Match ask for; None where the header is absent."""

    if_match: Precondition | None = None
    if_none_match: Precondition | None = None


UNCONDITIONAL = Preconditions()


def entity_tag(version: int) -> str:
    return f'"{version}"'


def precondition(value: str) -> Precondition:
    """What an If-Match or If-None-Match header that matches PRECONDITION_PATTERN asks for."""
    if value.strip() == "*":
        return Precondition(any_version=True, versions=frozenset(), weak_versions=frozenset())
    strong: set[int] = set()
    weak: set[int] = set()
    for weak_prefix, opaque in re.findall(ENTITY_TAG, value):
        # A well-formed tag this service never made (not a version number) is simply matched by nothing.
        if VERSION.fullmatch(opaque):
            (weak if weak_prefix else strong).add(int(opaque))
    return Precondition(any_version=False, versions=frozenset(strong), weak_versions=frozenset(weak))


def must_match(header: str, version: int) -> None:
    """Raise `PreconditionFailed` when If-Match names neither the current `version` nor any (*).

    Strong comparison (RFC 9110, section 13.1.1): W/"3" matches nothing. Writes compare in the database instead,
    in the statement that writes (app.items.store); this serves reads.
    """
    if not header.strip():
        return
    wanted = precondition(header)
    if not (wanted.any_version or version in wanted.versions):
        raise PreconditionFailed(f"The item is in version {entity_tag(version)}, which If-Match does not name.")


def none_match(header: str, version: int) -> bool:
    """Whether If-None-Match names the current `version` (or any, with *): the client's copy is current, and the
    answer is a 304 with the entity tag and no body."""
    if not header.strip():
        return False
    wanted = precondition(header)
    # Weak comparison (RFC 9110, section 13.1.2): W/"3" names version 3 too.
    return wanted.any_version or version in wanted.versions or version in wanted.weak_versions
