"""Expected failures raised by services and mapped by the schema layer to result unions."""
from __future__ import annotations

from services.types import FieldProblem


class ValidationFailed(Exception):
    """The input has problems; every one of them is listed, none is fixed silently."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.code}" for p in problems))
        self.problems = problems


class NotFound(Exception):
    pass


class Forbidden(Exception):
    """The caller's token may not read or change this object."""
