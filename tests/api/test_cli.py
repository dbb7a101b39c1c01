"""`luling user create | list | set-role | deactivate`."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, select
from typer.testing import CliRunner

from api.cli import app
from schema.accounts import Account
from schema.enums import Role
from schema.passwords import verify_password
from tests import factories as f

runner = CliRunner()


def test_create_first_admin_from_stdin(engine: sa.Engine, database_url: str) -> None:
    args = ["user", "create", "root", "--role", "admin", "--password-stdin"]
    result = runner.invoke(app, [*args, "--database-url", database_url], input="a-long-secret\n")
    assert result.exit_code == 0, result.output
    with Session(engine) as s:
        account = s.exec(select(Account).where(Account.username == "root")).one()
    assert account.role is Role.ADMIN and account.is_active and account.community_id is None
    assert verify_password(account.password_hash, "a-long-secret")
    assert "a-long-secret" not in account.password_hash


def test_create_scoped_coordinator_with_prompt(engine: sa.Engine, database_url: str) -> None:
    c = f.community(engine, name="泉塘社区")
    p = f.person(engine)
    args = ["user", "create", "qt.coord", "--role", "coordinator", "--community", "泉塘社区"]
    args += ["--person-id", str(p.id), "--database-url", database_url]
    result = runner.invoke(app, args, input="another-secret\nanother-secret\n")
    assert result.exit_code == 0, result.output
    with Session(engine) as s:
        account = s.exec(select(Account).where(Account.username == "qt.coord")).one()
    assert account.community_id == c.id and account.person_id == p.id


def test_create_enterprise_account(engine: sa.Engine, database_url: str) -> None:
    firm = f.enterprise(engine)
    args = ["user", "create", "firm.zhou", "--role", "enterprise", "--password-stdin"]
    args += ["--enterprise-id", str(firm.id), "--database-url", database_url]
    result = runner.invoke(app, args, input="a-long-secret\n")
    assert result.exit_code == 0, result.output
    with Session(engine) as s:
        account = s.exec(select(Account).where(Account.username == "firm.zhou")).one()
    assert account.role is Role.ENTERPRISE and account.enterprise_id == firm.id
    unlinked = ["user", "create", "firm.nobody", "--role", "enterprise", "--password-stdin"]
    result = runner.invoke(
        app, [*unlinked, "--database-url", database_url], input="a-long-secret\n"
    )
    assert result.exit_code != 0 and "names its enterprise" in result.output


def test_refuse_bad_user_create(engine: sa.Engine, database_url: str) -> None:
    f.account(engine, Role.RESIDENT, username="taken")
    cases = [
        (["taken", "--role", "resident"], "long-enough-pw", "already taken"),
        (["newbie", "--role", "emperor"], "long-enough-pw", "unknown role"),
        (["newbie", "--role", "resident"], "short", "at least 10"),
        (["newbie", "--role", "resident"], "1234567890", "sequence"),
        (["newbie", "--role", "resident"], " " * 10, "repeated"),
        (["newbie", "--role", "resident"], "newbie-2026!", "username"),
        (["newbie", "--role", "resident"], "password123", "common or breached"),
        (["newbie", "--role", "coordinator"], "long-enough-pw", "--county"),
        (["newbie", "--role", "grid_worker"], "long-enough-pw", "--county"),
        (["newbie", "--role", "resident", "--community", "无此社区"], "long-enough-pw", "no"),
    ]
    for args, password, message in cases:
        full = ["user", "create", *args, "--password-stdin", "--database-url", database_url]
        result = runner.invoke(app, full, input=password + "\n")
        assert result.exit_code != 0 and message in result.output, (args, result.output)


def test_list_and_deactivate_users(engine: sa.Engine, database_url: str) -> None:
    f.account(engine, Role.GRID_WORKER, username="grid.li")
    listed = runner.invoke(app, ["user", "list", "--database-url", database_url])
    assert listed.exit_code == 0 and "grid.li" in listed.output and "grid_worker" in listed.output
    # Names are printed as written, not read as Rich markup (found by attacking the notifications
    # list, which had the same fault: "[/]" made it raise).
    f.account(engine, Role.RESIDENT, username="x[/]y[red]z")
    listed = runner.invoke(app, ["user", "list", "--database-url", database_url])
    assert listed.exit_code == 0 and "x[/]y[red]z" in listed.output, listed.output
    off = runner.invoke(app, ["user", "deactivate", "grid.li", "--database-url", database_url])
    assert off.exit_code == 0, off.output
    with Session(engine) as s:
        assert s.exec(select(Account).where(Account.username == "grid.li")).one().is_active is False
    missing = runner.invoke(app, ["user", "deactivate", "nobody", "--database-url", database_url])
    assert missing.exit_code == 1


def test_create_county_wide_coordinator_only_with_county(
    engine: sa.Engine, database_url: str
) -> None:
    args = ["user", "create", "county.coord", "--role", "coordinator", "--county"]
    result = runner.invoke(
        app, [*args, "--password-stdin", "--database-url", database_url], input="long-enough-pw\n"
    )
    assert result.exit_code == 0 and "county-wide" in result.output, result.output
    with Session(engine) as s:
        account = s.exec(select(Account).where(Account.username == "county.coord")).one()
    assert account.role is Role.COORDINATOR and account.community_id is None


def test_set_role_revokes_tokens(engine: sa.Engine, database_url: str) -> None:
    c = f.community(engine, name="泉塘社区")
    account = f.account(engine, Role.VOLUNTEER, username="li.lei")
    args = ["user", "set-role", "li.lei", "--role", "grid_worker", "--database-url", database_url]
    refused = runner.invoke(app, args)  # a grid worker needs an area
    assert refused.exit_code == 1 and "--county" in refused.output
    done = runner.invoke(app, [*args, "--community", "泉塘社区"])
    assert done.exit_code == 0, done.output
    with Session(engine) as s:
        now = s.exec(select(Account).where(Account.username == "li.lei")).one()
    assert (now.role, now.community_id) == (Role.GRID_WORKER, c.id)
    assert now.token_version == account.token_version + 1
