"""How handlers and providers take what the app injects (Litestar's dependency injection, by name)."""

from __future__ import annotations

from typing import TypeAlias, TypeVar

from litestar.di import NamedDependency
from litestar.params import SkipValidation

T = TypeVar("T")

# A service the app made (the database, a store, the settings) is passed as it is: Litestar would otherwise check
# its type on every request, which it cannot do for a Protocol, and which costs time for anything else.
Injected: TypeAlias = NamedDependency[SkipValidation[T]]
