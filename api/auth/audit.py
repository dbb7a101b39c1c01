"""The audit log: one `AuditLog` row per root mutation field executed, whatever its outcome.

Who (account id and username, or the username a `login` tried), what (the mutation field's
name and its arguments, inline or from variables, with secrets redacted), when, from where
(client IP as the ASGI server saw it: run uvicorn with --proxy-headers behind a proxy), and
whether it succeeded (`ok`, or the error code: a top-level error's code, INTERNAL for masked
errors, or the first `userErrors` code when the payload selected them).

Rows are written after execution in a transaction of their own, so a mutation that failed and
rolled back is still recorded. Refused mutations (FORBIDDEN, UNAUTHENTICATED, RATE_LIMITED)
are recorded too. Requests refused before execution (a bad token: HTTP 401; an invalid
document) never ran and are not recorded.
"""

from __future__ import annotations

import enum
import re
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from graphql.utilities import value_from_ast_untyped
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from api.graphql.errors import is_safe_to_show
from api.logs import log
from schema.accounts import AuditLog

REDACTED = "[redacted]"
SECRET_NAME = re.compile(r"pass(word)?|token|secret|authori[sz]ation|credential", re.IGNORECASE)
MAX_STRING = 500  # long free texts are cut in the log


def redact(value: Any, *, name: str = "") -> Any:
    """A JSON-ready copy of `value` with secrets (by key name) replaced and long text cut."""
    if name and SECRET_NAME.search(name):
        return REDACTED
    if isinstance(value, dict):
        return {str(k): redact(v, name=str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, enum.Enum):
        return redact(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float):
        return value
    text = str(value)
    return text if len(text) <= MAX_STRING else text[:MAX_STRING] + "…"


def root_fields(
    document: DocumentNode, operation_name: str | None
) -> Iterator[tuple[str, FieldNode]]:
    """(response key, field node) of the operation's root fields, fragments expanded."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if not operations:
        return
    fragments = {d.name.value: d for d in document.definitions if hasattr(d, "type_condition")}

    def walk(selection_set: SelectionSetNode, seen: set[str]) -> Iterator[tuple[str, FieldNode]]:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                yield key, selection
            elif isinstance(selection, InlineFragmentNode):
                yield from walk(selection.selection_set, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in fragments and name not in seen:
                    yield from walk(fragments[name].selection_set, seen | {name})

    yield from walk(operations[0].selection_set, set())


def error_code(error: GraphQLError) -> str:
    if not is_safe_to_show(error):
        return "INTERNAL"
    return str((error.extensions or {}).get("code") or "ERROR")


def audit_rows(
    *,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any] | None,
    data: dict[str, Any] | None,
    errors: list[GraphQLError] | None,
    account_id: int | None,
    username: str,
    client_ip: str,
) -> list[AuditLog]:
    rows: list[AuditLog] = []
    for key, node in root_fields(document, operation_name):
        if node.name.value == "__typename":
            continue
        try:
            arguments = {
                a.name.value: value_from_ast_untyped(a.value, variables or {})
                for a in node.arguments
            }
        except Exception:  # an odd literal must not cost the audit row
            arguments = {"unreadable": True}
        field_errors = [e for e in errors or [] if e.path and e.path[0] == key]
        code: str | None = error_code(field_errors[0]) if field_errors else None
        payload = (data or {}).get(key)
        if code is None and isinstance(payload, dict) and payload.get("userErrors"):
            code = str(payload["userErrors"][0].get("code") or "USER_ERROR")
        rows.append(
            AuditLog(
                account_id=account_id,
                username=username[:64],
                operation=node.name.value[:64],
                variables=redact(arguments),
                client_ip=client_ip[:64],
                ok=code is None,
                error_code=code,
            )
        )
    return rows


class AuditMutations(SchemaExtension):
    """Writes the audit rows of every mutation operation after it executed."""

    async def on_execute(self) -> AsyncIterator[None]:  # type: ignore[override]
        yield
        ec = self.execution_context
        document = ec.graphql_document
        if document is None or ec.operation_type is not OperationType.MUTATION:
            return
        context = ec.context
        actor = context.account or context.audit_actor
        result = ec.result
        rows = audit_rows(
            document=document,
            operation_name=ec.operation_name,
            variables=ec.variables,
            data=getattr(result, "data", None),
            errors=getattr(result, "errors", None),
            account_id=actor.id if actor is not None else None,
            username=actor.username if actor is not None else (context.audit_username or ""),
            client_ip=context.client_ip,
        )
        if not rows:
            return
        try:
            async with context.db.transaction() as session:
                session.add_all(rows)
        except Exception as exc:  # the mutation already happened: report loudly, don't mask it
            log.error(
                "audit log write failed", error=str(exc), operations=[r.operation for r in rows]
            )
