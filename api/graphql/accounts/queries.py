"""`accounts` and `auditLog` (`me` is in api.graphql.me)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import sqlalchemy as sa
import strawberry

from api.auth.permissions import can
from api.graphql.accounts.types import ACCOUNT_COLUMNS, AccountNode, AuditLogEntry
from api.graphql.enums import Role
from api.graphql.relay import (
    Ordering,
    PageQuery,
    SqlPage,
    connection_field,
    decode_id,
    table_columns,
)
from schema import models as m
from schema.db import table_of

ACCOUNTS_BY_ID = Ordering("ACCOUNT_ID", (), table_of(m.Account).c.id)
AUDIT_NEWEST_FIRST = Ordering("AUDIT_ID", (), table_of(m.AuditLog).c.id, descending=True)


@strawberry.type
class AccountsQuery:
    @connection_field(
        AccountNode,
        description="Accounts, oldest first (administrators).",
        permission_classes=can("account.manage"),
    )
    async def accounts(
        self,
        role: Annotated[
            Role | None, strawberry.argument(description="Only accounts with this role.")
        ] = None,
        include_inactive: Annotated[
            bool, strawberry.argument(description="Include deactivated accounts.")
        ] = False,
    ) -> PageQuery:
        table = table_of(m.Account)
        filters: list[Any] = []
        if role is not None:
            filters.append(table.c.role == role)
        if not include_inactive:
            filters.append(table.c.is_active.is_(True))
        return SqlPage(
            columns=table_columns(m.Account, ACCOUNT_COLUMNS),
            select_from=table,
            ordering=ACCOUNTS_BY_ID,
            build=AccountNode.from_rows,
            filters=filters,
        )

    @connection_field(
        AuditLogEntry,
        description="The audit log of mutations, newest first (administrators).",
        permission_classes=can("audit.read"),
    )
    async def audit_log(
        self,
        account_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only this account's calls.")
        ] = None,
        operation: Annotated[
            str | None,
            strawberry.argument(
                description="Only requests of this operation name, or with this mutation among "
                "their root fields, e.g. login."
            ),
        ] = None,
        ok: Annotated[
            bool | None, strawberry.argument(description="Only successes (true) or failures.")
        ] = None,
        since: Annotated[
            datetime | None, strawberry.argument(description="Only calls at or after this time.")
        ] = None,
        until: Annotated[
            datetime | None, strawberry.argument(description="Only calls before this time.")
        ] = None,
    ) -> PageQuery:
        table = table_of(m.AuditLog)
        filters: list[Any] = []
        if account_id is not None:
            filters.append(table.c.account_id == decode_id(account_id, "Account"))
        if operation is not None:
            wanted = "%," + operation.replace(",", "") + ",%"
            filters.append(sa.or_(table.c.operation == operation, table.c.root_fields.like(wanted)))
        if ok is not None:
            filters.append(table.c.ok.is_(ok))
        if since is not None:
            filters.append(table.c.at >= since)
        if until is not None:
            filters.append(table.c.at < until)
        return SqlPage(
            columns=table_columns(m.AuditLog),
            select_from=table,
            ordering=AUDIT_NEWEST_FIRST,
            build=AuditLogEntry.from_rows,
            filters=filters,
        )
