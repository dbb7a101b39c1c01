"""Refuses, before anything runs, requests whose text could not be stored or whose operation is
ambiguous.

- Text: a NUL character or a lone surrogate in any string literal of the document (written raw
  or as a `\\u0000` escape) or in any string of the variables (values and keys, at any depth)
  is a BAD_USER_INPUT request error. PostgreSQL refuses NUL in text, SQLite stores it and later
  cuts strings short; a lone surrogate cannot even be encoded as UTF-8. Refusing here covers
  every argument and input field at once, and nothing is written. (A lone surrogate written raw
  or escaped in the document itself never gets this far: the GraphQL lexer refuses it, as the
  spec says, with GRAPHQL_PARSE_FAILED.)
- Operation: a document with several operations and no `operationName` is an
  OPERATION_RESOLUTION_FAILURE request error, as the GraphQL spec requires (Strawberry alone
  would run the first operation). An `operationName` that names none of them is refused by
  Strawberry before validation; `api.graphql.http` gives that refusal the same code.

The checks run at the start of validation and add their error to the validation errors, which
is how Strawberry stops a request before execution on every transport (HTTP and WebSocket).
Both are request errors (no path, no data): 400 under `application/graphql-response+json`.
"""

from __future__ import annotations

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
from strawberry.types import ExecutionContext

from api.graphql.errors import ErrorCode
from api.inputs import excerpt, text_problem

OPERATION_RESOLUTION_FAILURE = "OPERATION_RESOLUTION_FAILURE"
MULTIPLE_OPERATIONS = "Must provide operation name if query contains multiple operations."
# Documents already found clean, by identity (the parser cache hands out the same object).
_CLEAN: dict[int, DocumentNode] = {}
_CLEAN_MAX = 512


def refuse_bad_text(ctx: ExecutionContext) -> None:
    """The checks of the module doc, at the start of validation (after the validation cache,
    whose cached errors it adds to rather than replaces); run by the schema's request checks
    (api/graphql/checks.py)."""
    # A request refused already (a limit, validation) runs nothing: no need to walk it.
    if ctx.graphql_document is not None and not ctx.pre_execution_errors:
        # The name the request gave (`operation_name` falls back to the first operation's).
        requested = getattr(ctx, "_provided_operation_name", None)
        error = _refusal(ctx.graphql_document, ctx.variables, requested)
        if error is not None:
            # A new list: the validation cache's list is shared between requests.
            ctx.pre_execution_errors = [*(ctx.pre_execution_errors or []), error]


def _refusal(document: DocumentNode, variables: Any, requested: Any) -> GraphQLError | None:
    problem = _variables_problem(variables)
    if problem is None and _CLEAN.get(id(document)) is not document:
        problem = _literals_problem(document)
        if problem is None:
            if len(_CLEAN) >= _CLEAN_MAX:
                _CLEAN.clear()
            _CLEAN[id(document)] = document
    if problem is not None:
        return GraphQLError(problem, extensions={"code": ErrorCode.BAD_USER_INPUT.value})
    # A requested name that matches none never gets here (Strawberry refuses it earlier).
    if requested is None:
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if len(operations) > 1:
            code = OPERATION_RESOLUTION_FAILURE
            return GraphQLError(MULTIPLE_OPERATIONS, extensions={"code": code})
    return None


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
