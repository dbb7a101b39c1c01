"""The audit log: one `AuditLog` row per mutation request, whatever came of it.

Who: the caller as authenticated by the request's token (a successful `login` names the
account it opened; a failed one stays anonymous: a name typed into an argument never becomes
the actor). What: the operation's name, its root fields, and their arguments (inline or from
variables) with secrets redacted and the whole cut to `MAX_ARGUMENTS_BYTES`. When, from where
(the client address as the ASGI server saw it: run uvicorn with --proxy-headers behind a
proxy). And what came of each root field, decided by the server (`AuditOutcome`, a field
extension on every mutation field, records it as the field returns): a top-level error's code,
INTERNAL for a masked one, the first `userErrors` code of the payload whether or not the client
selected it, or NOT_RUN for a field that never ran. `ok` is true only if every field succeeded.

Rows are written after execution in a transaction of their own, so a mutation that failed and
rolled back is still recorded. Anonymous requests refused outright (every field FORBIDDEN,
UNAUTHENTICATED or RATE_LIMITED) are tallied per client address and code, and written as one
row with a `count` at most once a minute, so a flood of them cannot fill the database.
Requests refused before execution (a bad token: HTTP 401; an invalid or too costly document)
never ran and are not recorded.
"""

from __future__ import annotations

import enum
import json
import re
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_operation_ast,
)
from graphql.utilities import value_from_ast_untyped
from strawberry.extensions import FieldExtension
from strawberry.types import ExecutionContext, Info
from strawberry.types.graphql import OperationType

from api.graphql.errors import CodedError, is_safe_to_show
from api.logs import log
from schema.accounts import Account, AuditLog

REDACTED = "[redacted]"
SECRET_NAME = re.compile(r"pass(word)?|token|secret|authori[sz]ation|credential", re.IGNORECASE)
MAX_STRING = 200  # long free texts are cut in the log
MAX_ITEMS = 20  # long lists too
MAX_ARGUMENTS_BYTES = 4_096
NOT_RUN = "NOT_RUN"
REFUSALS = frozenset({"FORBIDDEN", "UNAUTHENTICATED", "RATE_LIMITED"})
TALLY_SECONDS = 60.0


def redact(value: Any, *, name: str = "") -> Any:
    """A JSON-ready copy of `value` with secrets (by key name) replaced and long text and
    lists cut."""
    if name and SECRET_NAME.search(name):
        return REDACTED
    if isinstance(value, dict):
        return {str(k)[:64]: redact(v, name=str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        items = [redact(v) for v in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            items.append(f"… {len(value) - MAX_ITEMS} more")
        return items
    if isinstance(value, enum.Enum):
        return redact(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float):
        return value
    text = str(value)
    return text if len(text) <= MAX_STRING else text[:MAX_STRING] + "…"


def clip(arguments: dict[str, Any]) -> dict[str, Any]:
    """`arguments` if their JSON fits in MAX_ARGUMENTS_BYTES, else as much of it as fits."""
    text = json.dumps(arguments, ensure_ascii=False, default=str)
    if len(text.encode()) <= MAX_ARGUMENTS_BYTES:
        return arguments
    return {"truncated": True, "json": text.encode()[:MAX_ARGUMENTS_BYTES].decode(errors="ignore")}


# --- what happened to each root field ------------------------------------------------------


@dataclass
class FieldOutcome:
    code: str | None  # None: it succeeded
    opened: Account | None = None  # the account a successful login opened
    user_error: bool = False  # the code is the payload's first userErrors code


def _outcomes(info: Info) -> dict[tuple[int, str], FieldOutcome]:
    context = info.context
    found: dict[tuple[int, str], FieldOutcome] | None = getattr(context, "audit_outcomes", None)
    if found is None:
        found = context.audit_outcomes = {}
    return found


class AuditOutcome(FieldExtension):
    """On every root mutation field: records its outcome (see module doc) for the audit row,
    keyed by the operation and the field's response key (a WebSocket's context is shared by
    its operations)."""

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info, **kwargs: Any
    ) -> Any:
        key = (id(info.operation), str(info.path.key))  # a field's path key: its response key
        outcomes = _outcomes(info)
        try:
            result = await next_(source, info, **kwargs)
        except CodedError as exc:
            outcomes[key] = FieldOutcome(str((exc.extensions or {}).get("code") or "ERROR"))
            raise
        except GraphQLError as exc:
            code = (exc.extensions or {}).get("code") if is_safe_to_show(exc) else None
            outcomes[key] = FieldOutcome(str(code or "INTERNAL"))
            raise
        except Exception:
            outcomes[key] = FieldOutcome("INTERNAL")
            raise
        errors = getattr(result, "user_errors", None)
        code = None
        if errors:
            first = errors[0].code
            code = str(getattr(first, "value", first) or "USER_ERROR")
        opened = getattr(result, "opened_account", None) if code is None else None  # login
        opened = opened if isinstance(opened, Account) else None
        outcomes[key] = FieldOutcome(code, opened, user_error=code is not None)
        return result


# --- the row --------------------------------------------------------------------------------


def root_fields(document: DocumentNode, operation: OperationDefinitionNode) -> Iterator[FieldNode]:
    """The operation's root field nodes, fragments expanded once each."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }

    def walk(selection_set: SelectionSetNode, seen: set[str]) -> Iterator[FieldNode]:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                yield selection
            elif isinstance(selection, InlineFragmentNode):
                yield from walk(selection.selection_set, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in fragments and name not in seen:
                    seen.add(name)
                    yield from walk(fragments[name].selection_set, seen)

    yield from walk(operation.selection_set, set())


def error_code(error: GraphQLError) -> str:
    if not is_safe_to_show(error):
        return "INTERNAL"
    return str((error.extensions or {}).get("code") or "ERROR")


def audit_row(
    *,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: dict[str, Any] | None,
    errors: list[GraphQLError] | None,
    outcomes: dict[tuple[int, str], FieldOutcome],
    account: Account | None,
    client_ip: str,
) -> AuditLog | None:
    """The request's row (None for an operation without root fields)."""
    fields: list[dict[str, Any]] = []
    arguments: dict[str, Any] = {}
    opened: Account | None = None
    for node in root_fields(document, operation):
        if node.name.value == "__typename":
            continue
        key = node.alias.value if node.alias else node.name.value
        outcome = outcomes.get((id(operation), key))
        code: str | None
        via = "error"
        if outcome is not None:
            code, opened = outcome.code, opened or outcome.opened
            via = "userErrors" if outcome.user_error else via
        else:  # no record: an error before the resolver (arguments, permission) or never ran
            field_errors = [e for e in errors or [] if e.path and e.path[0] == key]
            code = error_code(field_errors[0]) if field_errors else NOT_RUN
        fields.append(
            {
                "field": node.name.value,
                "key": key,
                "ok": code is None,
                "code": code,
                "via": via if code is not None else None,
            }
        )
        try:
            arguments[key] = {
                a.name.value: value_from_ast_untyped(a.value, variables or {})
                for a in node.arguments or ()
            }
        except Exception:  # an odd literal must not cost the audit row
            arguments[key] = {"unreadable": True}
    if not fields:
        return None
    names = [f["field"] for f in fields]
    failed = [f["code"] for f in fields if f["code"] is not None]
    if len(fields) == 1:  # the common case: arguments as the field took them
        arguments = next(iter(arguments.values()))
    actor = account or opened
    return AuditLog(
        account_id=actor.id if actor is not None else None,
        username=actor.username[:64] if actor is not None else "",
        operation=(operation.name.value if operation.name else ",".join(names))[:64],
        root_fields=("," + ",".join(names) + ",")[:512],
        variables=clip(redact(arguments)),
        outcomes=fields,
        client_ip=client_ip[:64],
        ok=not failed,
        error_code=failed[0] if failed else None,
    )


class RefusalTally:
    """Counts refused anonymous requests per (client address, code); `add` answers the count to
    write once a key's last row is `TALLY_SECONDS` old. Bounded; one per app."""

    max_keys = 10_000

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._counts: dict[tuple[str, str], tuple[int, float]] = {}
        self._lock = threading.Lock()

    def add(self, client_ip: str, code: str) -> int | None:
        now = self._clock()
        key = (client_ip, code)
        with self._lock:
            if key not in self._counts:  # the first of its kind is written at once
                if len(self._counts) >= self.max_keys:
                    self._counts.clear()
                self._counts[key] = (0, now)
                return 1
            count, since = self._counts[key]
            count += 1
            if now - since >= TALLY_SECONDS:
                self._counts[key] = (0, now)
                return count
            self._counts[key] = (count, since)
            return None


async def audit_operation(ec: ExecutionContext) -> None:
    """Write the audit row of a mutation operation that has just executed (nothing for other
    operations); run after execution by the schema's request checks (api/graphql/checks.py)."""
    document = ec.graphql_document
    if document is None or ec.operation_type is not OperationType.MUTATION:
        return
    operation = get_operation_ast(document, ec.operation_name)
    if operation is None:
        return
    context = ec.context
    outcomes = getattr(context, "audit_outcomes", None) or {}
    row = audit_row(
        document=document,
        operation=operation,
        variables=ec.variables,
        errors=getattr(ec.result, "errors", None),
        outcomes=outcomes,
        account=context.account,
        client_ip=context.client_ip,
    )
    for key in [k for k in outcomes if k[0] == id(operation)]:
        del outcomes[key]
    if row is None:
        return
    refusals = getattr(context, "refusals", None)
    # Refused outright: each field refused, or never reached after a refusal.
    refused = all(
        (o["code"] in REFUSALS and o["via"] == "error") or o["code"] == NOT_RUN
        for o in row.outcomes
    )
    if row.account_id is None and refused and refusals is not None:
        count = refusals.add(row.client_ip, str(row.error_code))
        if count is None:
            return
        row.count, row.variables = count, {}
    try:
        async with context.db.transaction() as session:
            session.add(row)
    except Exception as exc:  # the mutation already happened: report loudly, don't mask it
        log.error("audit log write failed", error=str(exc), operation=row.operation)
