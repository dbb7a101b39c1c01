"""`registrySearch`: staff (and enterprise helpers) look records up by key, name or community."""

from __future__ import annotations

import re
from typing import Annotated

import strawberry
from sqlmodel import col

from api.auth.permissions import can
from api.graphql.registry.types import RegistryRecord
from api.graphql.relay import Ordering, PageQuery, RowsPage, SortKey, connection_field, decode_id
from schema import models as m
from schema.registry import RegistryKind

R = m.RegistryRecord
# A query that looks like a natural key (ID number, credit code, house code) is matched exactly;
# anything else is a name (or a house's address) prefix.
_KEY_LIKE = re.compile(r"^[0-9A-Za-z-]{8,32}$")
QUERY_MAX = 64


@strawberry.type
class RegistryQuery:
    @connection_field(
        RegistryRecord,
        description="Search the shared registry (一表同享): by natural key (ID number, credit "
        "code, house code: exact) or by the start of a name or house address; by name, at most "
        "100 a page. Personal data is masked as for people.",
        permission_classes=can("registry.read"),
    )
    async def registry_search(
        self,
        query: Annotated[
            str | None,
            strawberry.argument(description="A natural key, or the start of a name (≤ 64 chars)."),
        ] = None,
        kind: Annotated[
            RegistryKind | None, strawberry.argument(description="Only this kind of record.")
        ] = None,
        community: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only in this community.")
        ] = None,
    ) -> PageQuery:
        where: list[object] = []
        if kind is not None:
            where.append(R.kind == kind.value)
        if community is not None:
            where.append(R.community_id == decode_id(community, "Community"))
        text = (query or "").strip()[:QUERY_MAX]
        if text and _KEY_LIKE.match(text):
            where.append(R.natural_key == text.upper())
        elif text:
            where.append(col(R.name).startswith(text, autoescape=True))
        by_name = Ordering("NAME", (SortKey(R.name, "str"),), R.id)
        return RowsPage(RegistryRecord, by_name, where)
