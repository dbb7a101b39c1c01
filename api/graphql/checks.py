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

Strawberry's own runner of extension hooks still builds those context managers for one
extension (~40 µs a request); `QuietSchema` asks the extension for a runner of its own
(`runner`), which calls the four hooks directly.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Generator
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
        self.mask = mask  # shared: its `_process_*` methods keep no state
        self._streamed = False

    def runner(self, execution_context: ExecutionContext) -> _Runner:
        """What Strawberry calls the extensions runner, for this extension alone."""
        self.execution_context = execution_context
        return _Runner(self, execution_context)

    def on_operation(self) -> Generator[None]:
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

    def on_stream_result(self, result: Any) -> Generator[None]:
        self._streamed = True
        self.mask._process_stream_result(result)
        yield

    def on_parse(self) -> Generator[None]:
        self.parse()
        yield
        add_codes(self.execution_context.pre_execution_errors)

    def on_validate(self) -> Generator[None]:
        self.validate()
        refuse_bad_text(self.execution_context)
        yield
        # Everything validation reports is a validation failure (an unused variable too).
        add_codes(self.execution_context.pre_execution_errors, code=VALIDATION_FAILED)

    async def on_execute(self) -> AsyncGenerator[None]:
        yield
        await audit_operation(self.execution_context)


class _Runner:
    """Strawberry's `SchemaExtensionsRunner` interface over one `RequestChecks`: each phase is
    a context manager (sync and async) that runs the hook up to its `yield` on entry and the
    rest on a normal exit; on an exception the rest does not run (the hooks have no
    `try`), as with Strawberry's runner."""

    __slots__ = ("checks", "execution_context", "extensions")

    def __init__(self, checks: RequestChecks, execution_context: ExecutionContext) -> None:
        self.checks = checks
        self.execution_context = execution_context
        self.extensions = [checks]

    def operation(self) -> _Phase:
        return _Phase(self.checks.on_operation)

    def parsing(self) -> _Phase:
        return _Phase(self.checks.on_parse)

    def validation(self) -> _Phase:
        return _Phase(self.checks.on_validate)

    def executing(self) -> _AsyncPhase:
        return _AsyncPhase(self.checks.on_execute)

    def on_stream_result(self, result: Any) -> _Phase:
        return _Phase(lambda: self.checks.on_stream_result(result))

    def get_extensions_results_sync(self) -> dict[str, Any]:
        return self.checks.get_results()

    async def get_extensions_results(self, ctx: ExecutionContext) -> dict[str, Any]:
        data = self.checks.get_results()
        data.update(ctx.extensions_results)
        return data


class _Phase:
    __slots__ = ("hook", "steps")

    def __init__(self, hook: Callable[[], Generator[None]]) -> None:
        self.hook = hook

    def __enter__(self) -> None:
        self.steps = self.hook()
        next(self.steps)

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        if kind is None:
            next(self.steps, None)
        else:
            self.steps.close()

    async def __aenter__(self) -> None:
        self.__enter__()

    async def __aexit__(self, kind: Any, error: Any, trace: Any) -> None:
        self.__exit__(kind, error, trace)


class _AsyncPhase:
    __slots__ = ("hook", "steps")

    def __init__(self, hook: Callable[[], AsyncGenerator[None]]) -> None:
        self.hook = hook

    def __enter__(self) -> None:
        raise RuntimeError("RequestChecks.on_execute is async: it cannot run synchronously")

    def __exit__(self, *_: Any) -> None:
        return None

    async def __aenter__(self) -> None:
        self.steps = self.hook()
        await anext(self.steps)

    async def __aexit__(self, kind: Any, error: Any, trace: Any) -> None:
        if kind is None:
            await anext(self.steps, None)
        else:
            await self.steps.aclose()
