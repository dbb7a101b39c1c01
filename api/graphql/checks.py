"""Every check of ours that a GraphQL request passes, as ONE Strawberry schema extension.

Strawberry builds, per request and per extension, a context manager for each hook the
extension has (with `inspect` calls, `functools.wraps` copies and an exit stack each): six
extensions cost ~100 µs of CPU per request before anything ran. `RequestChecks` does what they
did, in the same order, with one set of hooks:

- operation: the parser's token limit (`max_tokens`, Strawberry's MaxTokensLimiter); the
  extra validation rules (no introspection, when it is off); after the operation, codes on
  request errors (`add_codes`), then internal errors masked (`CodedMaskErrors`).
- parse: `QueryLimits.parse` (size limits, the parser cache); then codes on parse errors.
- validate: `QueryLimits.validate` (depth, aliases, cost …, the validation cache, the cost
  budget), then `refuse_bad_text` (NUL, lone surrogates, an ambiguous operation); then
  GRAPHQL_VALIDATION_FAILED on what validation reported without a code.
- execute: after a mutation executed, its audit row (`audit_operation`).
- results: the `cost` entry of the response's extensions (`QueryLimits.get_results`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.validation import ASTValidationRule
from strawberry.types import ExecutionContext, ExecutionResult

from api.auth.audit import audit_operation
from api.graphql.limits import LimitsConfig, QueryLimits
from api.graphql.protection import VALIDATION_FAILED, CodedMaskErrors, add_codes
from api.graphql.text_input import refuse_bad_text


class RequestChecks(QueryLimits):
    """One instance per request (a factory in the schema's extensions)."""

    def __init__(
        self,
        config: LimitsConfig,
        *,
        max_tokens: int,
        extra_rules: tuple[type[ASTValidationRule], ...],
        mask: CodedMaskErrors,
    ) -> None:
        super().__init__(config)
        self.max_tokens = max_tokens
        self.extra_rules = extra_rules
        self.mask = mask
        self._streamed = False

    def on_operation(self) -> Iterator[None]:
        ec: ExecutionContext = self.execution_context
        ec.parse_options["max_tokens"] = self.max_tokens
        if self.extra_rules:
            ec.validation_rules = ec.validation_rules + self.extra_rules
        self._streamed = False
        yield
        add_codes(getattr(ec.result, "errors", None))
        # As MaskErrors.on_operation, without its per-request Protocol isinstance check.
        if self._streamed:  # masked result by result already
            return
        result = ec.result
        if isinstance(result, (GraphQLExecutionResult, ExecutionResult)):
            if result.errors:
                result.errors = self.mask._process_errors(result.errors)
        elif initial_result := getattr(result, "initial_result", None):
            self.mask._process_result(initial_result)

    def on_stream_result(self, result: Any) -> Iterator[None]:
        self._streamed = True
        self.mask._process_stream_result(result)
        yield

    def on_parse(self) -> Iterator[None]:
        self.parse()
        yield
        add_codes(self.execution_context.pre_execution_errors)

    def on_validate(self) -> Iterator[None]:
        self.validate()
        refuse_bad_text(self.execution_context)
        yield
        # Everything validation reports is a validation failure (an unused variable too).
        add_codes(self.execution_context.pre_execution_errors, code=VALIDATION_FAILED)

    async def on_execute(self) -> AsyncIterator[None]:
        yield
        await audit_operation(self.execution_context)
