"""Places left on an activity or a need: how many more people it takes.

An activity takes `capacity` people, a need `headcount`. On an activity a place is held by
everyone signed up and not cancelled (checking in and out keeps it). On a need a place is held
by everyone dispatched to it in person (an active assignment), and by nothing else: an offer
(schema/offers.py) holds none until it is accepted, which dispatches; teams and resources
dispatched hold none. Never below zero: a need dispatched to more people than it asked for has
no place left.

The rule is written once, in SQL (`places_left_sql`: over the activity or need row, for queries to
filter and sort on and loaders to batch), and `places_left` runs it for one row (the sign-up and
offer checks): dispatch, offers and opportunities count a need's places this one way.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import col

from schema.activities import Activity, SignUp
from schema.enums import SignUpStatus
from schema.needs import Need, NeedAssignment

HOLDING_A_PLACE = (SignUpStatus.SIGNED_UP, SignUpStatus.CHECKED_IN, SignUpStatus.CHECKED_OUT)


class _NotBelowZero(FunctionElement[int]):
    """max(0, x), in each database's words (`greatest` in PostgreSQL, scalar `max` in SQLite)."""

    type = sa.Integer()
    inherit_cache = True


@compiles(_NotBelowZero)
def _greatest(element: _NotBelowZero, compiler: Any, **kw: Any) -> str:
    return f"greatest(0, {compiler.process(element.clauses, **kw)})"


@compiles(_NotBelowZero, "sqlite")
def _max(element: _NotBelowZero, compiler: Any, **kw: Any) -> str:
    return f"max(0, {compiler.process(element.clauses, **kw)})"


def _signed_up(target_column: Any, target_id: Any) -> Any:
    return sa.and_(target_column == target_id, col(SignUp.status).in_(HOLDING_A_PLACE))


def _dispatched(need_id: Any, person_id: Any = None) -> Any:
    a = NeedAssignment
    where = [col(a.need_id) == need_id, col(a.active).is_(True), col(a.person_id).is_not(None)]
    if person_id is not None:
        where.append(col(a.person_id) == person_id)
    return sa.and_(*where)


def taken_sql(model: type[Activity] | type[Need]) -> sa.ColumnElement[int]:
    """People holding a place on the row of `model` the enclosing query selects."""
    if model is Activity:
        return (
            sa.select(sa.func.count())
            .where(_signed_up(col(SignUp.activity_id), col(Activity.id)))
            .scalar_subquery()
        )
    a, need_id = NeedAssignment, col(Need.id)
    return (
        sa.select(sa.func.count(sa.distinct(col(a.person_id))))
        .where(_dispatched(need_id))
        .scalar_subquery()
    )


def places_left_sql(model: type[Activity] | type[Need]) -> sa.ColumnElement[int]:
    """Places left on the row of `model` the enclosing query selects (never below zero)."""
    wanted = col(Activity.capacity) if model is Activity else col(Need.headcount)
    return _NotBelowZero(wanted - taken_sql(model))


async def places_left(session: AsyncSession, target: Activity | Need) -> int:
    """Places left on this activity or need, as the database has it now."""
    model = type(target)
    stmt = sa.select(places_left_sql(model)).where(col(model.id) == target.id)
    return int((await session.execute(stmt)).scalar_one())
