"""The four queries Luling and PostGraphile answer side by side (`bench/api.py --peer`), each in
both servers' shapes, and how their answers are reduced to the same plain data so the bench can
check that both serve the same rows before timing them.

PostGraphile has no `overdue` (a rule of ours, schema/sla.py): it selects the columns the rule
reads instead (`arriveBy`, `arrivedAt`, `kind`, `windowEnd`), and the check computes `overdue`
from them.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

LULING_NEEDS = """query Needs($first: Int!) { needs(first: $first) { nodes {
  id title status tier category source urgency reportedAt resolveBy overdue address headcount
  community { id name township } } } }"""

PEER_NEEDS = """query Needs($first: Int!) { allNeeds(first: $first,
  orderBy: [REPORTED_AT_DESC, ROW_ID_DESC]) { nodes {
  rowId title status tier category source urgency reportedAt resolveBy arriveBy arrivedAt
  kind windowEnd address headcount communityByCommunityId { rowId name township } } } }"""

LULING_COMMUNITIES = """query Communities { communities(first: 50) { nodes {
  id name kind township population grids { id code name kind } } } }"""

PEER_COMMUNITIES = """query Communities { allCommunities(first: 50,
  orderBy: [NAME_ASC, ROW_ID_ASC]) { nodes { rowId name kind township population
  gridsByCommunityId(orderBy: [CODE_ASC]) { nodes { rowId code name kind } } } } }"""

LULING_NEED = """query Need($id: ID!) { need(id: $id) { id title status tier overdue
  events { action toStatus at } community { name } } }"""

PEER_NEED = """query Need($pk: Int!) { needByRowId(rowId: $pk) { rowId title status tier
  resolveBy arriveBy arrivedAt kind windowEnd needEventsByNeedId(orderBy: [AT_ASC, ROW_ID_ASC]) {
  nodes { action toStatus at } } communityByCommunityId { name } } }"""

OPEN = {"reported", "accepted", "dispatched", "arrived"}


@dataclass(frozen=True)
class PeerCase:
    name: str
    luling: str
    luling_variables: dict[str, Any]
    peer: str
    peer_variables: dict[str, Any]


def peer_cases(need_id: int) -> list[PeerCase]:
    gid = base64.b64encode(f"Need:{need_id}".encode()).decode()
    return [
        PeerCase("20 needs x 12 fields + community", LULING_NEEDS, {"first": 20}, PEER_NEEDS,
                 {"first": 20}),
        PeerCase("100 needs, same fields", LULING_NEEDS, {"first": 100}, PEER_NEEDS,
                 {"first": 100}),
        PeerCase("50 communities with their grids", LULING_COMMUNITIES, {}, PEER_COMMUNITIES, {}),
        PeerCase("one need with its events", LULING_NEED, {"id": gid}, PEER_NEED, {"pk": need_id}),
    ]  # fmt: skip


# ------------------------------------------------------------------------------------------
# Both answers reduced to plain data


def _pk(global_id: str) -> int:
    return int(base64.b64decode(global_id).decode().split(":", 1)[1])


def _ts(value: str | None) -> str | None:
    if value is None:
        return None
    t = datetime.fromisoformat(value)
    if t.tzinfo is not None:
        t = t.astimezone(UTC).replace(tzinfo=None)
    return t.isoformat()


def _low(value: str | None) -> str | None:
    return None if value is None else value.lower()


def _overdue(n: dict[str, Any], now: datetime) -> bool:
    if n["status"].lower() not in OPEN:
        return False
    resolve_by, arrive_by = _ts(n["resolveBy"]), _ts(n["arriveBy"])
    if resolve_by is not None and now.isoformat() > resolve_by:
        return True
    if n["arrivedAt"] is None and arrive_by is not None and now.isoformat() > arrive_by:
        return True
    # A scheduled need never booked is overdue once its service window has passed.
    window_end = _ts(n["windowEnd"])
    return (
        n["kind"].lower() == "scheduled"
        and arrive_by is None
        and window_end is not None
        and now.isoformat() > window_end
    )


def _need_row(n: dict[str, Any], pk: int, overdue: bool) -> tuple[Any, ...]:
    return (pk, n["title"], _low(n["status"]), _low(n["tier"]), _low(n["category"]),
            _low(n["source"]), n["urgency"], _ts(n["reportedAt"]), _ts(n["resolveBy"]), overdue,
            n["address"], n["headcount"])  # fmt: skip


def normalise(case: PeerCase, server: str, data: dict[str, Any]) -> Any:
    """The rows of an answer as plain tuples, the same for both servers when they agree."""
    now = datetime.now(UTC).replace(tzinfo=None)
    if case.luling is LULING_NEEDS:
        if server == "luling":
            return [(*_need_row(n, _pk(n["id"]), n["overdue"]), _pk(n["community"]["id"]),
                     n["community"]["name"], n["community"]["township"])
                    for n in data["needs"]["nodes"]]  # fmt: skip
        return [(*_need_row(n, n["rowId"], _overdue(n, now)),
                 n["communityByCommunityId"]["rowId"], n["communityByCommunityId"]["name"],
                 n["communityByCommunityId"]["township"])
                for n in data["allNeeds"]["nodes"]]  # fmt: skip
    if case.luling is LULING_COMMUNITIES:
        if server == "luling":
            return [((_pk(c["id"]), c["name"], _low(c["kind"]), c["township"], c["population"]),
                     [(_pk(g["id"]), g["code"], g["name"], _low(g["kind"])) for g in c["grids"]])
                    for c in data["communities"]["nodes"]]  # fmt: skip
        return [((c["rowId"], c["name"], _low(c["kind"]), c["township"], c["population"]),
                 [(g["rowId"], g["code"], g["name"], _low(g["kind"]))
                  for g in c["gridsByCommunityId"]["nodes"]])
                for c in data["allCommunities"]["nodes"]]  # fmt: skip
    if server == "luling":
        n = data["need"]
        events = n["events"]
        head = (_pk(n["id"]), n["title"], _low(n["status"]), _low(n["tier"]), n["overdue"])
        community = n["community"]["name"]
    else:
        n = data["needByRowId"]
        events = n["needEventsByNeedId"]["nodes"]
        head = (n["rowId"], n["title"], _low(n["status"]), _low(n["tier"]), _overdue(n, now))
        community = n["communityByCommunityId"]["name"]
    return (head, community, [(_low(e["action"]), _low(e["toStatus"]), _ts(e["at"]))
                              for e in events])  # fmt: skip
