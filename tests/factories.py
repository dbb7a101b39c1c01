"""Small factories for tests: each inserts one valid row and returns it (overrides via kwargs)."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, SQLModel

from schema.base import utcnow
from schema.enums import (
    ActivityStatus,
    AreaKind,
    EnterpriseRequestKind,
    EnterpriseRequestStatus,
    GridKind,
    NeedCategory,
    NeedSource,
    NeedStatus,
    NeedTier,
    PersonKind,
    Role,
    TeamKind,
)
from schema.models import (
    Account,
    Activity,
    Community,
    Enterprise,
    EnterpriseRequest,
    Grid,
    GridStaff,
    Need,
    NeedAssignment,
    Person,
    Team,
    TeamMembership,
)
from schema.passwords import hash_password

LAT, LON = 27.05, 114.92
_seq = itertools.count(1)
_hash_cache: dict[str, str] = {}
M = TypeVar("M", bound=SQLModel)


def _add(engine: sa.Engine, row: M) -> M:
    with Session(engine, expire_on_commit=False) as session:
        session.add(row)
        session.commit()
        session.refresh(row)
    return row


def community(engine: sa.Engine, **kw: Any) -> Community:
    n = next(_seq)
    values: dict[str, Any] = {
        "name": f"测试社区{n}",
        "kind": AreaKind.URBAN_COMMUNITY,
        "township": "敦厚镇",
        "latitude": LAT,
        "longitude": LON,
    }
    return _add(engine, Community(**(values | kw)))


def grid(engine: sa.Engine, community_id: int, **kw: Any) -> Grid:
    n = next(_seq)
    values: dict[str, Any] = {
        "code": f"G{n:05d}",
        "name": f"第{n}网格",
        "kind": GridKind.URBAN,
        "community_id": community_id,
        "latitude": LAT,
        "longitude": LON,
    }
    return _add(engine, Grid(**(values | kw)))


def person(engine: sa.Engine, **kw: Any) -> Person:
    values: dict[str, Any] = {
        "name": f"张{next(_seq)}",
        "kind": PersonKind.PARTY_MEMBER,
        "is_party_member": True,
        "latitude": LAT,
        "longitude": LON,
    }
    return _add(engine, Person(**(values | kw)))


def need_values(community_id: int, **kw: Any) -> dict[str, Any]:
    """The columns of a valid need (a broken hallway light, just reported), with `kw` over them."""
    values: dict[str, Any] = {
        "title": "楼道灯坏了",
        "category": NeedCategory.INFRASTRUCTURE,
        "source": NeedSource.RESIDENT_APP,
        "tier": NeedTier.ORDINARY,
        "status": NeedStatus.REPORTED,
        "community_id": community_id,
        "latitude": LAT,
        "longitude": LON,
    }
    return values | kw


def need(engine: sa.Engine, community_id: int, **kw: Any) -> Need:
    return _add(engine, Need(**need_values(community_id, **kw)))


def assignment(engine: sa.Engine, need_id: int, **kw: Any) -> NeedAssignment:
    """A person (`person_id=`) or team (`team_id=`) dispatched to a need."""
    return _add(engine, NeedAssignment(need_id=need_id, **kw))


def password_hash(password: str) -> str:
    """The hash of `password`, computed once per session: argon2 is slow on purpose."""
    if password not in _hash_cache:
        _hash_cache[password] = hash_password(password)
    return _hash_cache[password]


def account(engine: sa.Engine, role: Role, password: str = "secret-pass", **kw: Any) -> Account:
    values: dict[str, Any] = {
        "username": f"user{next(_seq)}",
        "password_hash": password_hash(password),
        "role": role,
    }
    return _add(engine, Account(**(values | kw)))


# -- closed loop: teams, grid staff, enterprises, activities (added for issue 5)


def team(engine: sa.Engine, **kw: Any) -> Team:
    values: dict[str, Any] = {"name": f"吉先锋服务队{next(_seq)}", "kind": TeamKind.NEW_BUSINESS}
    return _add(engine, Team(**(values | kw)))


def team_member(engine: sa.Engine, team_id: int, person_id: int, **kw: Any) -> TeamMembership:
    return _add(engine, TeamMembership(team_id=team_id, person_id=person_id, **kw))


def grid_staff(engine: sa.Engine, grid_id: int, person_id: int, role: Any, **kw: Any) -> GridStaff:
    return _add(engine, GridStaff(grid_id=grid_id, person_id=person_id, role=role, **kw))


def enterprise(engine: sa.Engine, **kw: Any) -> Enterprise:
    n = next(_seq)
    values: dict[str, Any] = {
        "name": f"吉安测试企业{n}",
        "credit_code": f"91360821{n:010d}",
        "latitude": LAT,
        "longitude": LON,
    }
    return _add(engine, Enterprise(**(values | kw)))


def enterprise_request(engine: sa.Engine, enterprise_id: int, **kw: Any) -> EnterpriseRequest:
    """A request just submitted, nobody carrying it (no events: the tests' own steps add them)."""
    now = utcnow()
    values: dict[str, Any] = {
        "enterprise_id": enterprise_id,
        "kind": EnterpriseRequestKind.POLICY,
        "title": "政策咨询",
        "status": EnterpriseRequestStatus.SUBMITTED,
        "submitted_at": now,
        "deadline": now + timedelta(days=1),
        "updated_at": now,
    }
    return _add(engine, EnterpriseRequest(**(values | kw)))


def activity(engine: sa.Engine, community_id: int, **kw: Any) -> Activity:
    start = utcnow() - timedelta(minutes=30)
    values: dict[str, Any] = {
        "title": "义善庐陵·敬老助餐",
        "community_id": community_id,
        "status": ActivityStatus.PLANNED,
        "starts_at": start,
        "ends_at": start + timedelta(hours=3),
        "capacity": 10,
        "latitude": LAT,
        "longitude": LON,
    }
    return _add(engine, Activity(**(values | kw)))


def signed_in_token(engine: sa.Engine, role: Role = Role.RESIDENT, **kw: Any) -> str:
    """A bearer token for a new account of `role`, for a test that needs no county: areas,
    units, teams and enterprises are readable by any signed-in caller only."""
    return token_for(account(engine, role, **kw))


def token_for(account: Account, secret_key: str | None = None) -> str:
    """A bearer token for `account`, signed with the default (test) secret unless given."""
    from api.auth.tokens import issue_token
    from api.settings import Settings

    settings = Settings() if secret_key is None else Settings(secret_key=secret_key)
    return issue_token(account, settings)[0]
