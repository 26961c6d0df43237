"""Result types shared by every domain. Expected failures are data, never exceptions
(CONVENTIONS 6): a service returns one of its result types and the schema maps each with
`match` + `assert_never`."""
from __future__ import annotations

from dataclasses import dataclass

from services.kernel.types import FieldProblem


@dataclass(frozen=True)
class Invalid:
    """The input has problems; every one of them is listed, none is fixed silently."""

    problems: tuple[FieldProblem, ...]


@dataclass(frozen=True)
class NotFound:
    message: str


@dataclass(frozen=True)
class Forbidden:
    """The caller's token may not read or change this object."""

    message: str


def invalid(*problems: FieldProblem) -> Invalid:
    return Invalid(tuple(problems))
