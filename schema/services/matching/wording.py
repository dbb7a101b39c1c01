"""Explanations in the county's own words: the optimiser knows units, resources and people only
by number ("from paired unit 35"); before proposals are stored, this names them ("from 国网某县
供电公司, twinned with this community"; a resource proposal starts with the resource's name)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlmodel import col

from matching.result import ReasonCode
from schema.models import PairedUnit, Resource


def name_things(conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Rewrite the rows' reasons (and messages) in place to name units and resources."""
    unit_ids = {
        r["data"]["paired_unit_id"]
        for row in rows
        for r in row["reasons"]
        if r.get("code") == ReasonCode.TWINNED_RESOURCE.value
        and r.get("data", {}).get("paired_unit_id") is not None
    }
    resource_ids = {row["resource_id"] for row in rows if row.get("resource_id") is not None}
    units = _names(conn, PairedUnit, unit_ids)
    resources = _resources(conn, resource_ids)
    for row in rows:
        changed = False
        for r in row["reasons"]:
            unit = r.get("data", {}).get("paired_unit_id")
            if r.get("code") == ReasonCode.TWINNED_RESOURCE.value and unit in units:
                r["message"] = f"from {units[unit]}, twinned with this community"
                r["data"]["paired_unit"] = units[unit]
                changed = True
        resource = resources.get(row.get("resource_id"))
        if resource is not None and not any(r.get("code") == "resource" for r in row["reasons"]):
            name, label = resource
            words = f"{row['quantity']} {label} of {name}"
            row["reasons"].insert(0, {"code": "resource", "message": words, "data": {"name": name}})
            changed = True
        if changed:
            row["message"] = "; ".join(r["message"] for r in row["reasons"])


def _names(conn: sa.Connection, model: type[PairedUnit], ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    query = sa.select(col(model.id), col(model.name)).where(col(model.id).in_(ids))
    return {cast(int, i): n for i, n in conn.execute(query).all()}


def _resources(conn: sa.Connection, ids: set[int]) -> dict[Any, tuple[str, str]]:
    if not ids:
        return {}
    query = sa.select(col(Resource.id), col(Resource.name), col(Resource.unit_label)).where(
        col(Resource.id).in_(ids)
    )
    return {i: (n, label) for i, n, label in conn.execute(query).all()}
