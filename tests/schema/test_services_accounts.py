"""Account services (`schema.services.accounts`): the rules refuse with the services' error
family, hashes run through the caller's runner, and `luling user` keeps the last-admin rule."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select
from typer.testing import CliRunner

from api.cli import app
from schema.accounts import Account
from schema.enums import AccountScope, Role
from schema.services import accounts as svc
from schema.services.errors import Conflict, DomainError, Invalid, NotFound, Unauthenticated
from tests import factories as f
from tests.loop import run

COUNTY = AccountScope.COUNTY


class CountingRunner:
    """A `run_hash` that counts the hashes it ran (in a worker thread, like the CLI's)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, fn: Callable[..., Any], /, *args: Any) -> Awaitable[Any]:
        self.calls.append(fn.__name__)
        return asyncio.to_thread(fn, *args)


def test_create_and_change_password_through_the_callers_runner(
    engine: sa.Engine, database_url: str
) -> None:
    hashes = CountingRunner()
    account = run(
        database_url,
        svc.create_account,
        username="li.na",
        password="a-long-secret",
        role=Role.VOLUNTEER,
        run_hash=hashes,
    )
    assert hashes.calls == ["hash_password"]
    run(
        database_url,
        svc.change_password,
        account_id=account.id,
        current="a-long-secret",
        new="another-secret",
        run_hash=hashes,
    )
    assert hashes.calls == ["hash_password", "verify_password", "hash_password"]
    opened = run(
        database_url,
        svc.check_credentials,
        username="li.na",
        password="another-secret",
        run_hash=hashes,
    )
    assert opened is not None and opened.id == account.id


@pytest.mark.parametrize(
    ("arguments", "error", "field"),
    [
        ({"username": "X"}, Invalid, "username"),
        ({"password": "short"}, Invalid, "password"),
        ({"password": "1234567890"}, Invalid, "password"),
        ({"password": "newbie-secret"}, Invalid, "password"),  # contains the username
        ({"password": "password123"}, Invalid, "password"),  # a common password
        ({"display_name": "名" * 65}, Invalid, "display_name"),
        ({"username": "taken"}, Conflict, "username"),
        ({"community_id": 999_999}, NotFound, "community_id"),
        ({"person_id": 999_999}, NotFound, "person_id"),
        ({"person_id": "linked"}, Conflict, "person_id"),  # that person has an account
        ({"role": Role.COORDINATOR}, Invalid, "community_id"),  # no area, county not asked
        ({"role": Role.GRID_WORKER}, Invalid, "community_id"),
        (
            {"role": Role.COORDINATOR, "community_id": "one", "scope": COUNTY},
            Invalid,
            "community_id",
        ),
    ],
)
def test_refuse_bad_account(
    engine: sa.Engine,
    database_url: str,
    arguments: dict[str, Any],
    error: type[DomainError],
    field: str,
) -> None:
    linked = f.person(engine)
    f.account(engine, Role.RESIDENT, username="taken", person_id=linked.id)
    named = {"linked": linked.id, "one": f.community(engine).id}
    arguments = {k: named.get(v, v) if isinstance(v, str) else v for k, v in arguments.items()}
    values = {"username": "newbie", "password": "long-enough-pw", "role": Role.RESIDENT}
    with pytest.raises(error) as refused:
        run(database_url, svc.create_account, run_hash=asyncio.to_thread, **(values | arguments))
    assert refused.value.field == field


def test_refuse_wrong_current_password(engine: sa.Engine, database_url: str) -> None:
    account = f.account(engine, Role.VOLUNTEER, password="secret-pass")
    with pytest.raises(Unauthenticated) as refused:
        run(
            database_url,
            svc.change_password,
            account_id=account.id,
            current="not-the-one",
            new="another-secret",
            run_hash=asyncio.to_thread,
        )
    assert (refused.value.code, refused.value.field) == ("UNAUTHENTICATED", "current_password")


def test_keep_the_last_admin_from_the_cli_too(engine: sa.Engine, database_url: str) -> None:
    f.account(engine, Role.ADMIN, username="root")
    args = ["user", "deactivate", "root", "--database-url", database_url]
    refused = CliRunner().invoke(app, args)
    assert refused.exit_code == 1 and "last active administrator" in refused.output
    f.account(engine, Role.ADMIN, username="root.two")
    assert CliRunner().invoke(app, args).exit_code == 0
    with Session(engine) as s:
        active = {a.username: a.is_active for a in s.exec(select(Account)).all()}
    assert active == {"root": False, "root.two": True}


def test_create_county_wide_staff_only_when_asked(engine: sa.Engine, database_url: str) -> None:
    for role in (Role.COORDINATOR, Role.GRID_WORKER):
        account = run(
            database_url,
            svc.create_account,
            username=f"county.{role.value}",
            password="long-enough-pw",
            role=role,
            scope=AccountScope.COUNTY,
            run_hash=asyncio.to_thread,
        )
        assert account.community_id is None
