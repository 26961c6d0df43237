"""The schema's per-request guards as **one** Strawberry extension (issue 16).

Strawberry builds a context manager per extension for each of the four stages of every
request (operation, parsing, validation, execution): for each stage it looks up every
extension's hook, wraps it in ``contextlib.contextmanager`` and enters it on an exit
stack. With six extensions (token limit, validation rules, parser cache, validation
memo, input guard, error masking) that made 24 context managers per request, 4 now.
py-spy under load attributed 15 % of a lookup to that bookkeeping
(``ExtensionContextManagerBase``, ``Schema.get_extensions``); measured in process it was
about 1 % (1.07 → 1.06 ms), so the gain is small, and the code is simpler. The guards
are the same and in the same order; only the plumbing is shared:

- operation: the parser's token limit (what strawberry's MaxTokensLimiter sets), the
  schema's extra validation rules (depth, aliases, and in production no introspection:
  strawberry's AddValidationRules / DisableIntrospection), then, on the way out, internal
  errors masked (strawberry's MaskErrors, which this class is);
- parsing: graphql-core's parse behind one LRU shared by the requests (strawberry's
  ParserCache does the same), so the same text gives back the same document object;
- validation: remembered per parsed document (schema/document_cache.py);
- execution: the input guard (schema/input_guard.py) before any resolver.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from typing import Any

from graphql import ExecutionResult, parse
from strawberry.extensions import MaskErrors

from schema.document_cache import validated
from schema.errors import INTERNAL_ERROR, should_mask
from schema.input_guard import input_errors


class RequestGuards(MaskErrors):
    def __init__(self, *, max_tokens: int, rules: Sequence[type], parse: Callable[..., Any]) -> None:
        super().__init__(should_mask_error=should_mask, error_message=INTERNAL_ERROR)
        self.max_tokens = max_tokens
        self.rules = tuple(rules)
        self.parse = parse

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = self.max_tokens
        context.validation_rules = context.validation_rules + self.rules
        yield from super().on_operation()  # masks the result's internal errors on the way out

    def _process_result(self, result: object) -> None:
        # MaskErrors tests the result against a runtime_checkable Protocol, which walks
        # the protocol's attributes on every request; the results here are graphql-core's
        # or strawberry's ExecutionResult, both with ``errors``.
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = self._process_errors(errors)  # type: ignore[attr-defined]

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        context.graphql_document = self.parse(context.query, **context.parse_options)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        context.pre_execution_errors = validated(context.schema._schema, context.graphql_document,
                                                 context.validation_rules)
        yield

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None and context.result is None:
            errors = input_errors(context.graphql_document, context.variables)
            if errors:
                context.result = ExecutionResult(data=None, errors=errors)
        yield


def request_guards(*, max_tokens: int, rules: Sequence[type], parser_cache_size: int = 256
                   ) -> Callable[[], RequestGuards]:
    """A factory for strawberry (one instance per request, CONVENTIONS 8) sharing one
    parse LRU (what strawberry's ParserCache keeps: bounded, so new texts from an attacker
    only evict old ones; the same text gives back the same document object)."""
    cached_parse = lru_cache(maxsize=parser_cache_size)(parse)
    rules = tuple(rules)
    return lambda: RequestGuards(max_tokens=max_tokens, rules=rules, parse=cached_parse)
