"""Connections: page size limits and PageInfo, the same for every list (CONVENTIONS 10)."""
from __future__ import annotations

from typing import Optional

import strawberry

from schema.errors import PublicError
from services.kernel.pagination import DEFAULT_PAGE, MAX_PAGE, Page
from services.kernel.results import Invalid


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: Optional[str]


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE
    if first < 1 or first > MAX_PAGE:
        raise PublicError(f"first debe estar entre 1 y {MAX_PAGE}.", "BAD_REQUEST")
    return first


def page_or_error(result: Page | Invalid) -> Page:
    """A bad cursor is the client's malformed request: a public GraphQL error."""
    if isinstance(result, Invalid):
        raise PublicError(result.problems[0].message, "BAD_REQUEST")
    return result


def page_info(page: Page) -> PageInfo:
    return PageInfo(has_next_page=page.has_next, end_cursor=page.end_cursor)
