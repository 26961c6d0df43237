"""Row ids as clients send them (GraphQL ID, a token's subject, a cursor's tail).

A database row id is a positive BIGINT. ``str.isdigit`` accepts "²" and "١" (which int()
then refuses or reads), and int() accepts " 1", "+1", "1_0" and 26 digits that overflow
BIGINT in PostgreSQL (and SQLite's INTEGER): each of those used to end as "Error
interno". Only ASCII decimal digits, 1 .. 2^63-1, are a row id; anything else is no row.
"""
from __future__ import annotations

import re

MAX_ROW_ID = 2**63 - 1  # BIGINT / SQLite INTEGER
_DIGITS = re.compile(r"[0-9]{1,19}")


def parse_row_id(value: object) -> int | None:
    """The row id ``value`` names, or None when it cannot name one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 1 <= value <= MAX_ROW_ID else None
    if not isinstance(value, str) or _DIGITS.fullmatch(value) is None:
        return None
    row_id = int(value)
    return row_id if 1 <= row_id <= MAX_ROW_ID else None
