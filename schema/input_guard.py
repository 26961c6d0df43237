"""Every string argument is checked before any resolver runs (issue: "no Error interno
from input"): no NUL, no other C0 control character but TAB, LF and CR, no lone
surrogate, at most MAX_STRING_LENGTH characters (the files sent as base64 excepted).

Strings reach a resolver two ways: as literals in the document and as variables. The
check walks both, inside input objects and lists, naming each string by the argument and
input-field names that lead to it (``input.lines[0].description``), and answers one
GraphQL error per bad string with ``extensions.code`` BAD_USER_INPUT, before variable
coercion and before any resolver, so a mutation never runs half-way.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    GraphQLError,
    ListValueNode,
    ObjectValueNode,
    StringValueNode,
    ValueNode,
    VariableDefinitionNode,
    VariableNode,
    Visitor,
    visit,
)

from schema.document_cache import IdentityMemo
from services.kernel.codes import RequestErrorCode
from services.kernel.text import MAX_STRING_LENGTH, problem_message, string_problem

# Arguments and input fields that carry a file as base64: the body limit (MAX_BODY_BYTES)
# caps them, and each service checks its own size (a 700 kB Constancia, a 200 kB logo).
FILE_FIELDS = frozenset({"certificate", "privateKey", "logo", "file"})
MAX_ERRORS = 10


def _limit(name: str) -> int:
    return 1 << 30 if name in FILE_FIELDS else MAX_STRING_LENGTH


def _walk_value(value: Any, path: str, name: str) -> Iterator[tuple[str, str, str]]:
    """(path, name, string) for every string inside a variable's JSON value."""
    if isinstance(value, str):
        yield path, name, value
    elif isinstance(value, dict):
        for key, item in value.items():
            # A key is an input field's name; a bad key is refused by coercion, but its
            # characters still must not reach an error message unchecked.
            yield f"{path}.<clave>", name, str(key)
            yield from _walk_value(item, f"{path}.{key}", str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk_value(item, f"{path}[{index}]", name)


class _Arguments(Visitor):
    """Collects the document's string literals, and which argument each variable feeds."""

    def __init__(self) -> None:
        super().__init__()
        self.literals: list[tuple[str, str, str]] = []
        self.variable_names: dict[str, str] = {}

    def enter_argument(self, node: ArgumentNode, *_: Any) -> Any:
        self._value(node.value, node.name.value, node.name.value)
        return self.SKIP  # _value walked the whole value

    def enter_variable_definition(self, node: VariableDefinitionNode, *_: Any) -> Any:
        if node.default_value is not None:
            name = node.variable.name.value
            self._value(node.default_value, f"${name}", name)
        return self.SKIP

    def _value(self, node: ValueNode, path: str, name: str) -> None:
        if isinstance(node, VariableNode):
            self.variable_names.setdefault(node.name.value, name)
        elif isinstance(node, StringValueNode):
            self.literals.append((path, name, node.value))
        elif isinstance(node, ObjectValueNode):
            for field in node.fields:
                self._value(field.value, f"{path}.{field.name.value}", field.name.value)
        elif isinstance(node, ListValueNode):
            for index, item in enumerate(node.values):
                self._value(item, f"{path}[{index}]", name)


def _collect(document: DocumentNode) -> _Arguments:
    collector = _Arguments()
    visit(document, collector)
    return collector


# The literals and the variables' argument names depend on the document alone: walked once
# per document, not per request (the walk was a third of a ticket lookup's GraphQL cost).
_DOCUMENTS: IdentityMemo[_Arguments] = IdentityMemo(maxsize=256)


def input_errors(document: DocumentNode, variables: dict[str, Any] | None) -> list[GraphQLError]:
    collector = _DOCUMENTS.get((document,), None, lambda: _collect(document))
    strings = list(collector.literals)
    for variable, value in (variables or {}).items():
        name = collector.variable_names.get(variable)
        # Named as the argument the variable feeds (what the client's form calls it).
        strings.extend(_walk_value(value, name or f"${variable}", name or variable))
    errors = []
    seen = set()
    for path, name, text in strings:
        found = string_problem(text, _limit(name))
        if found is None or (path, found[0]) in seen:
            continue
        seen.add((path, found[0]))
        problem, detail = found
        errors.append(GraphQLError(problem_message(path, problem, detail), extensions={
            "code": RequestErrorCode.BAD_USER_INPUT.value, "problem": problem.value, "field": path,
        }))
        if len(errors) >= MAX_ERRORS:
            break
    return errors
