"""Strawberry types of SAT catalogue entries (c_RegimenFiscal, c_UsoCFDI, c_FormaPago)."""
from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum
class PersonType(Enum):
    PHYSICAL = "PHYSICAL"
    MORAL = "MORAL"


@strawberry.type
class CatalogEntry:
    code: str
    description: str


# ---------------- portal ----------------
