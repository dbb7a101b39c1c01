"""Request protection: a `code` on every error a client can get before or during execution.

- Request errors get `extensions.code`. Our own checks code theirs where they raise them
  (`api.graphql.cost`: QUERY_TOO_DEEP, TOO_MANY_ALIASES …; `text_input`); graphql-core's come
  without one and get it from the phase that raised them (`add_codes`, called after each
  phase by the schema's request checks, api/graphql/checks.py):
  GRAPHQL_PARSE_FAILED or TOO_MANY_TOKENS when parsing, GRAPHQL_VALIDATION_FAILED when
  validating, BAD_USER_INPUT for variables that do not fit their types.
- Internal errors (anything not raised as a `CodedError`) are masked to "Unexpected error."
  with code INTERNAL, and logged with their traceback; expected errors are not logged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import strawberry
from graphql import GraphQLError, GraphQLSyntaxError, VariableDefinitionNode
from strawberry.extensions import MaskErrors, SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.types import ExecutionContext
from strawberry.utils.logging import StrawberryLogger

from api.graphql.errors import CodedError
from schema.text_rules import echo

PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
TOO_MANY_TOKENS = "TOO_MANY_TOKENS"
BAD_USER_INPUT = "BAD_USER_INPUT"
INTERNAL = "INTERNAL"

# graphql-core stops the parser at the token limit (Strawberry's MaxTokensLimiter) with an
# ordinary syntax error: its message is the only thing that tells the two apart.
_TOKEN_LIMIT = "tokens. Parsing aborted."


def request_error_code(error: GraphQLError) -> str:
    """The code of a request error graphql-core raised without one: a syntax error (or the
    token limit), a variable value that does not fit its type (the error points at the
    variable's definition), else a validation error."""
    if isinstance(error, GraphQLSyntaxError):
        return TOO_MANY_TOKENS if _TOKEN_LIMIT in error.message else PARSE_FAILED
    if error.nodes and isinstance(error.nodes[0], VariableDefinitionNode):
        return BAD_USER_INPUT
    return VALIDATION_FAILED


def is_request_error(error: GraphQLError) -> bool:
    """Raised before execution (parse, validation, variable coercion): no path into the result,
    and no original exception other than a GraphQL error."""
    original = error.original_error
    return error.path is None and (original is None or isinstance(original, GraphQLError))


# A quoted name or value longer than this is cut in request errors: graphql-core quotes what the
# client sent (an unknown field, a bad literal), and a client may send 100 KB of it.
MAX_ECHO = 32
_QUOTED = re.compile(r"""(['"])([^'"]{""" + str(MAX_ECHO + 1) + r""",})\1""")


# No request error is longer than this, nor more than one line: quote pairing cannot find
# every value (a value holding a quote mark, a nested input object's path between the quotes).
MAX_MESSAGE = 256


def short_echo(message: str) -> str:
    """`message` with every long quoted part cut to its first MAX_ECHO characters, on one
    line and at most MAX_MESSAGE characters whatever it quotes."""
    cut = _QUOTED.sub(lambda m: f"{m[1]}{m[2][:MAX_ECHO]}…{m[1]}", message)
    return echo(cut, MAX_MESSAGE)


def add_codes(errors: Iterable[GraphQLError] | None, code: str | None = None) -> None:
    """Give every request error without a code `code`, or the one `request_error_code` finds,
    and cut what it echoes of the request."""
    for error in errors or ():
        if not is_request_error(error):
            continue
        if not (error.extensions or {}).get("code"):
            found = code or request_error_code(error)
            error.extensions = {**(error.extensions or {}), "code": found}
        message = error.message
        if len(message) > 2 * MAX_ECHO or len(message.splitlines()) > 1:
            error.message = short_echo(message)


class QuietSchema(strawberry.Schema):
    """A Schema that logs only unexpected errors: coded errors (permission refusals, bad input)
    and request errors (parse, validation) are the client's business, not the operator's."""

    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> SchemaExtensionsRunner:
        """The extension's own runner where it has one (`api.graphql.checks.RequestChecks`,
        the only extension of ours), else Strawberry's."""
        if len(extensions) == 1:
            runner = getattr(extensions[0], "runner", None)
            if runner is not None:
                own: SchemaExtensionsRunner = runner(execution_context)
                return own
        return super().create_extensions_runner(execution_context, extensions)

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            if is_request_error(error) or isinstance(error.original_error, CodedError):
                continue
            StrawberryLogger.error(error, execution_context)


class CodedMaskErrors(MaskErrors):
    """MaskErrors that keeps a code (INTERNAL) on the masked error."""

    def __init__(self, should_mask_error: Callable[[GraphQLError], bool]) -> None:
        def should_mask(error: GraphQLError) -> bool:
            return not is_request_error(error) and should_mask_error(error)

        super().__init__(should_mask_error=should_mask, error_message="Unexpected error.")

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        # The original is logged with its traceback by QuietSchema.process_errors.
        return GraphQLError(
            message=self.error_message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=None,
            extensions={"code": INTERNAL},
        )
