"""GraphQL errors: public ones pass, internal ones are masked (CONVENTIONS 7)."""
from __future__ import annotations

from graphql import GraphQLError


INTERNAL_ERROR = "Error interno. Intenta de nuevo más tarde."  # what a masked error says


class PublicError(Exception):
    """An error the client may see: auth failures, throttling, malformed input."""

    def __init__(self, message: str, code: str, **extensions) -> None:
        super().__init__(message)
        self.code = code
        self.extensions = {"code": code, **extensions}


def should_mask(error: GraphQLError) -> bool:
    original = error.original_error
    if original is None:
        return False  # syntax and validation errors: the client needs them
    if isinstance(original, (PublicError, GraphQLError)):
        return False  # GraphQLError inside: variable coercion (a bad Decimal, a naive DateTime)
    # Variable coercion failures (bad Decimal, bad DateTime) are the client's input.
    if isinstance(original, (ValueError, TypeError)) and error.path is None:
        return False
    return True

