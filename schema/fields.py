"""Types every domain's errors share: FieldError with its closed ErrorCode set (CONVENTIONS 6a)."""
from __future__ import annotations

from enum import Enum

import strawberry

from services.kernel.codes import all_codes
from services.kernel.types import FieldProblem

# The union of every domain's codes (services/kernel/codes.py): a closed set for typed
# clients. FieldError.code keeps the same value as a String, as the core contract says.
ErrorCode = strawberry.enum(
    Enum("ErrorCode", {code: code for code in all_codes()}),  # type: ignore[misc]
    description="Stable machine codes of FieldError, from every domain (services/kernel/codes.py)",
)


@strawberry.type
class FieldError:
    field: str = strawberry.field(description="Input path, e.g. customer.rfc or lines.0.unitPrice")
    code: str = strawberry.field(description="Stable machine code, e.g. RFC_INVALID, NAME_MISMATCH, CFDI_USE_NOT_ALLOWED")
    message: str = strawberry.field(description="What is wrong and what to do, in Spanish")
    error_code: ErrorCode = strawberry.field(description="The same code as a member of the closed ErrorCode set")  # type: ignore[valid-type]


def to_field_errors(problems: tuple[FieldProblem, ...] | list[FieldProblem]) -> list[FieldError]:
    return [
        FieldError(field=p.field, code=str(p.code), message=p.message, error_code=ErrorCode(str(p.code)))
        for p in problems
    ]
