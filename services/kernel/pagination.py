"""Keyset pages: opaque cursors of (instant, id), newest first. Lists are capped
(CONVENTIONS 10)."""
from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from services.kernel.codes import PaginationErrorCode
from services.kernel.dates import in_range
from services.kernel.ids import parse_row_id
from services.kernel.results import Invalid, invalid
from services.kernel.types import FieldProblem

MAX_PAGE = 100
DEFAULT_PAGE = 50

T = TypeVar("T")
R = TypeVar("R")

Cursor = tuple[datetime, int]


def encode_cursor(moment: datetime, row_id: int) -> str:
    return base64.urlsafe_b64encode(f"{moment.isoformat()}|{row_id}".encode()).decode()


# What encode_cursor writes: the instant in ISO 8601 with its offset, "|", the row id.
_CURSOR = re.compile(r"[A-Za-z0-9_-]{1,200}={0,2}")
_TEXT = re.compile(r"([0-9T:.+-]{19,40})\|([0-9]{1,19})")


def decode_cursor(cursor: str) -> Cursor | None:
    """The (instant, id) a cursor names, or None for anything encode_cursor could not have
    written: strictly base64url of "<ISO instant with offset>|<row id>", the instant
    within the accepted range (services/kernel/dates.py; near year 1 it overflowed when
    converted to UTC) and the id a row id (10^30 overflowed BIGINT)."""
    if not isinstance(cursor, str) or _CURSOR.fullmatch(cursor) is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii") + b"=" * (-len(cursor) % 4)).decode("ascii")
        match = _TEXT.fullmatch(text)
        if match is None:
            return None
        moment = datetime.fromisoformat(match.group(1))
    except (ValueError, UnicodeError, binascii.Error):
        return None
    row_id = parse_row_id(match.group(2))
    if in_range(moment) is None or row_id is None:
        return None
    return moment, row_id


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
