"""Per-document memo for work that depends only on a parsed query (issue 16).

ParserCache hands back the same DocumentNode object for the same query text, so work
that depends only on the document (validating it, collecting its string literals) can be
remembered by the object's identity. Keyed by ``id()`` with the object kept alive in the
entry and compared with ``is`` on every hit (an id is reused only after its object dies,
and the entry holds it): hashing the document instead, as functools.lru_cache does,
walks its whole tree on every request (graphql-core's Node.__hash__ is recursive and not
cached: 111 hash calls per lookup, profiled). Bounded like ParserCache: an attacker
sending new documents only evicts old entries.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class IdentityMemo(Generic[T]):
    def __init__(self, maxsize: int = 256) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[tuple, tuple[tuple[Any, ...], T]] = OrderedDict()
        self.hits = self.misses = 0

    def get(self, objects: tuple[Any, ...], extra: Hashable, compute: Callable[[], T]) -> T:
        """``compute()``'s value for these ``objects`` (compared by identity) and ``extra``
        (compared by value)."""
        key = (*map(id, objects), extra)
        entry = self._entries.get(key)
        if entry is not None and all(a is b for a, b in zip(entry[0], objects, strict=True)):
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[1]
        self.misses += 1
        value = compute()
        self._entries[key] = (objects, value)
        if len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)
        return value


_VALIDATED: IdentityMemo[list] = IdentityMemo(maxsize=256)


def validated(schema: Any, document: Any, rules: tuple) -> list:
    """graphql-core's validation errors of ``document`` under ``rules``, remembered per
    (schema, document) by identity and rules by value: strawberry's ValidationCache
    without its recursive hash of the document; the same validate_document, the same
    errors."""
    from strawberry.schema.schema import validate_document  # what ValidationCache calls

    return _VALIDATED.get((schema, document), tuple(rules), lambda: validate_document(schema, document, rules))
