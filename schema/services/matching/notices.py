"""Telling the people a matching job's commit sent out: each committed person once, with all
their tasks (needs with place and slot or deadline, enterprise requests), in the commit's own
transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from schema.enums import ProposalKind
from schema.models import Proposal
from schema.notifications import Notification, NotificationKind
from schema.services.common import to_publish
from schema.services.notify import (
    Notice,
    need_data_on,
    notify_each_on,
    published,
    request_data_on,
)


def _tasks(committed: Iterable[Proposal]) -> dict[int, dict[str, list[int]]]:
    """Per person: the needs they were dispatched to and the requests they were given."""
    tasks: dict[int, dict[str, list[int]]] = {}
    for p in committed:
        if p.person_id is None:
            continue  # a resource
        mine = tasks.setdefault(p.person_id, {"needs": [], "requests": []})
        if p.kind is ProposalKind.HELPER and p.enterprise_request_id is not None:
            mine["requests"].append(p.enterprise_request_id)
        elif p.need_id is not None and p.need_id not in mine["needs"]:
            mine["needs"].append(p.need_id)
    return tasks


def _write(
    conn: sa.Connection,
    job_id: int,
    tasks: dict[int, dict[str, list[int]]],
    urgent: bool,
    now: datetime | None,
) -> list[Notification]:
    needs: dict[int, dict[str, Any]] = {}
    requests: dict[int, dict[str, Any]] = {}
    notices: list[Notice] = []
    for person_id, mine in sorted(tasks.items()):
        for n in mine["needs"]:
            needs.setdefault(n, need_data_on(conn, n))
        for r in mine["requests"]:
            requests.setdefault(r, request_data_on(conn, r))
        data = {
            "job_id": job_id,
            "needs": [needs[n] for n in mine["needs"]],
            "requests": [requests[r] for r in mine["requests"]],
        }
        emergency = any(needs[n]["emergency"] for n in mine["needs"])
        notices.append(Notice(data, [person_id], urgent=urgent or emergency))
    return notify_each_on(
        conn,
        NotificationKind.MATCH_COMMITTED,
        key=f"job:{job_id}:committed",
        notices=notices,
        now=now,
    )


async def notify_committed(
    session: AsyncSession,
    job_id: int,
    committed: Iterable[Proposal],
    *,
    urgent: bool,
    now: datetime | None = None,
) -> list[Notification]:
    tasks = _tasks(committed)
    written = await session.run_sync(lambda s: _write(s.connection(), job_id, tasks, urgent, now))
    if written:
        to_publish(session).append(published(written))
    return written
