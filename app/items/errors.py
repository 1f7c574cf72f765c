"""What can go wrong with items: raised where it is found, told to clients as problems by app.items.controller."""

from __future__ import annotations

MAX_KEY_LENGTH = 255


class ItemNotFound(LookupError):
    def __init__(self, item_id: object) -> None:
        super().__init__(f"No item has the id {item_id}.")


class ItemVersionMismatch(Exception):
    """A conditional write found the item in none of the versions it names (or found no item at all)."""

    def __init__(self, item_id: object) -> None:
        super().__init__(
            f"The item {item_id} is not in the version If-Match names (it changed, or no longer exists): "
            "read it again for its current ETag."
        )


class ItemInUnwantedVersion(Exception):
    """A write under If-None-Match found the item in a version it names (or, for *, found it at all)."""

    def __init__(self, item_id: object) -> None:
        super().__init__(
            f"The item {item_id} is in a version If-None-Match names (or exists, for *): nothing was changed."
        )


class IdempotencyKeyMalformed(ValueError):
    def __init__(self) -> None:
        super().__init__(f"The Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters.")


class IdempotencyKeyReused(Exception):
    def __init__(self) -> None:
        super().__init__(
            "This Idempotency-Key already created an item from another body: use a new key for another item."
        )


class IdempotencyKeyInUse(Exception):
    def __init__(self) -> None:
        super().__init__("A create with this Idempotency-Key is still being processed: retry it in a moment.")


class TenantUnknown(Exception):
    """Tenancy is on (AUTH_TENANT_CLAIM) and the token names no tenant: it reaches no item, not even to learn of one."""

    def __init__(self, claim: str) -> None:
        super().__init__(f"The token names no tenant: its {claim} claim is missing, or not a non-empty string.")
