"""Refuses, before anything runs, requests whose text could not be stored or whose operation is
ambiguous.

- Text: a NUL character or a lone surrogate anywhere in the document (string literals included,
  written raw or as `\\u0000` escapes) or in any string of the variables (values and keys, at any
  depth) is a BAD_USER_INPUT request error. PostgreSQL refuses NUL in text, SQLite stores it
  and later cuts strings short; a lone surrogate cannot even be encoded as UTF-8. Refusing
  here covers every argument and input field at once, and nothing is written.
- Operation: a document with several operations and no `operationName`, or an `operationName`
  that names none of them, is an OPERATION_RESOLUTION_FAILURE request error, as the GraphQL
  spec requires (Strawberry alone would run the first operation).

Both are request errors (no path, no data): 400 under `application/graphql-response+json`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    BREAK,
    DocumentNode,
    GraphQLError,
    OperationDefinitionNode,
    StringValueNode,
    Visitor,
    visit,
)
from strawberry.extensions import SchemaExtension

from api.graphql.errors import ErrorCode
from api.inputs import excerpt, text_problem

OPERATION_RESOLUTION_FAILURE = "OPERATION_RESOLUTION_FAILURE"
# Documents already found clean, by identity (the parser cache hands out the same object).
_CLEAN: dict[int, DocumentNode] = {}
_CLEAN_MAX = 512


class TextInput(SchemaExtension):
    """Checks the query text and variables first, then the parsed document's literals and the
    choice of operation (see the module doc)."""

    def on_operation(self) -> Iterator[None]:
        ctx = self.execution_context
        if ctx.query is not None:
            problem = text_problem(ctx.query)
            if problem is not None:
                raise _bad_input(f"the document {problem}")
        problem = _variables_problem(ctx.variables)
        if problem is not None:
            raise _bad_input(problem)
        yield

    def on_parse(self) -> Iterator[None]:
        yield
        ctx = self.execution_context
        document = ctx.graphql_document
        if document is None:  # the parse failed: that error is the answer
            return
        if id(document) not in _CLEAN or _CLEAN[id(document)] is not document:
            problem = _literals_problem(document)
            if problem is not None:
                raise _bad_input(problem)
            if len(_CLEAN) >= _CLEAN_MAX:
                _CLEAN.clear()
            _CLEAN[id(document)] = document
        # Strawberry keeps the requested name privately; `operation_name` defaults to the first.
        _check_operation(document, getattr(ctx, "_provided_operation_name", None))


def _bad_input(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": ErrorCode.BAD_USER_INPUT.value})


def _variables_problem(variables: Any) -> str | None:
    """Why a string somewhere in `variables` cannot be stored, naming where (iterative: the
    body parser bounds the nesting, not this walk)."""
    stack: list[tuple[str, Any]] = [("", variables)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            problem = text_problem(value)
            if problem is not None:
                return f"variable '${excerpt(path)}' {problem}"
        elif isinstance(value, dict):
            for key, item in value.items():
                key_text = str(key)
                problem = text_problem(key_text)
                if problem is not None:
                    return f"a variable name or input field name {problem}"
                stack.append((f"{path}.{key_text}" if path else key_text, item))
        elif isinstance(value, list):
            stack.extend((f"{path}.{i}", item) for i, item in enumerate(value))
    return None


class _Literals(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.problem: str | None = None

    def enter_string_value(self, node: StringValueNode, *_: Any) -> Any:
        problem = text_problem(node.value)
        if problem is None:
            return None
        self.problem = f"a string literal in the document {problem}"
        return BREAK


def _literals_problem(document: DocumentNode) -> str | None:
    visitor = _Literals()
    visit(document, visitor)
    return visitor.problem


def _check_operation(document: DocumentNode, name: Any) -> None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        if len(operations) > 1:
            raise _unresolved("Must provide operation name if query contains multiple operations.")
        return
    if not isinstance(name, str):
        raise _unresolved("operationName must be a string")
    if not any(op.name is not None and op.name.value == name for op in operations):
        raise _unresolved(f"Unknown operation named '{excerpt(name)}'.")


def _unresolved(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": OPERATION_RESOLUTION_FAILURE})
