"""Keyset pages: opaque cursors of (instant, id), newest first. Lists are capped
(CONVENTIONS 10)."""
from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from services.kernel.codes import PaginationErrorCode
from services.kernel.results import Invalid, invalid
from services.kernel.types import FieldProblem

MAX_PAGE = 100
DEFAULT_PAGE = 50

T = TypeVar("T")
R = TypeVar("R")

Cursor = tuple[datetime, int]


def encode_cursor(moment: datetime, row_id: int) -> str:
    return base64.urlsafe_b64encode(f"{moment.isoformat()}|{row_id}".encode()).decode()


def decode_cursor(cursor: str) -> Cursor | None:
    try:
        moment, row_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        parsed = datetime.fromisoformat(moment)
        if parsed.tzinfo is None:
            return None
        return parsed, int(row_id)
    except (ValueError, UnicodeError, binascii.Error):
        return None


def parse_cursor(after: str | None) -> Cursor | None | Invalid:
    """A page's `after` argument: None for the first page; Invalid when forged."""
    if not after:
        return None
    cursor = decode_cursor(after)
    if cursor is None:
        return invalid(FieldProblem("after", PaginationErrorCode.CURSOR_INVALID, "El cursor no es válido."))
    return cursor


@dataclass(frozen=True)
class Edge(Generic[T]):
    node: T
    cursor: str


@dataclass(frozen=True)
class Page(Generic[T]):
    edges: tuple[Edge[T], ...]
    has_next: bool

    @property
    def end_cursor(self) -> str | None:
        return self.edges[-1].cursor if self.edges else None


def page_of(rows: list[R], first: int, to_node: Callable[[R], T], position: Callable[[R], Cursor]) -> Page[T]:
    """rows were fetched with limit first + 1: the extra one only says a next page exists."""
    return Page(
        tuple(Edge(to_node(r), encode_cursor(*position(r))) for r in rows[:first]),
        len(rows) > first,
    )
