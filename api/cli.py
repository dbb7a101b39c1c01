"""The `luling` command: serve the API, migrate, seed, manage users, export the schema."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from api.cli_imports import export, import_app
from api.cli_notifications import notifications_app
from api.settings import get_settings
from schema.enums import AccountScope, Role

if TYPE_CHECKING:
    from schema.models import Account

app = typer.Typer(
    help="Luling (庐陵善治): grassroots-governance matching service.", no_args_is_help=True
)
db_app = typer.Typer(help="Database migrations (Alembic).", no_args_is_help=True)
app.add_typer(db_app, name="db")
user_app = typer.Typer(
    help="Accounts: create the first administrator, list, change a role, deactivate."
)
app.add_typer(user_app, name="user")
console = Console(stderr=True)
app.add_typer(import_app, name="import")
app.command("export")(export)
app.add_typer(notifications_app, name="notifications")


def _database_url(url: str | None) -> str:
    return url or get_settings().database_url


DatabaseOpt = Annotated[
    str | None, typer.Option("--database-url", help="Overrides DATABASE_URL.", show_default=False)
]


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    database_url: DatabaseOpt = None,
) -> None:
    """Bring the database schema up to date."""
    from schema.migrate import current_revision, upgrade

    url = _database_url(database_url)
    upgrade(url, revision)
    console.print(f"database at revision [bold]{current_revision(url)}[/bold]")


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. -1 or base.")],
    database_url: DatabaseOpt = None,
) -> None:
    """Step the database schema back to REVISION."""
    from schema.migrate import current_revision, downgrade

    url = _database_url(database_url)
    downgrade(url, revision)
    console.print(f"database at revision [bold]{current_revision(url)}[/bold]")


@db_app.command("current")
def db_current(database_url: DatabaseOpt = None) -> None:
    """Print the database's revision and the code's head revision."""
    from schema.migrate import current_revision, head_revision

    url = _database_url(database_url)
    typer.echo(f"current: {current_revision(url)}\nhead:    {head_revision()}")


def _anchor(now: str | None) -> datetime:
    """The moment the reference county is anchored at: `--now` (ISO 8601, any offset; none means
    the county's local time), else this minute."""
    from schema.base import aware, utcnow

    if now is None:
        return utcnow().replace(second=0, microsecond=0)
    try:
        return aware(datetime.fromisoformat(now))
    except ValueError as exc:
        console.print(f"[red]error:[/red] --now: {exc}")
        raise typer.Exit(2) from exc


def _load_reference(
    url: str, *, reset: bool, scale: int, counties: int = 1, now: datetime | None = None
) -> dict[str, int]:
    from schema.db import make_engine
    from seed.load import load_reference

    engine = make_engine(url)
    columns = (
        TextColumn("{task.description:<24}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    try:
        with Progress(*columns, console=console, transient=False) as progress:
            tasks: dict[str, TaskID] = {}

            def report(table: str, done: int, total: int) -> None:
                if table not in tasks:
                    tasks[table] = progress.add_task(table, total=total)
                progress.update(tasks[table], completed=done)

            return load_reference(
                engine,
                reset=reset,
                scale=scale,
                counties=counties,
                progress=report,
                now=now or _anchor(None),
            )
    finally:
        engine.dispose()


def _refresh(url: str, now: datetime) -> None:
    from schema.db import make_engine
    from seed.refresh import refresh

    engine = make_engine(url)
    try:
        by = refresh(engine, now)
    finally:
        engine.dispose()
    console.print(f"moved every time forward by {by.days} days (whole weeks)")


def _database_is_empty(url: str) -> bool:
    import sqlalchemy as sa

    from schema.db import make_engine
    from schema.models import Community

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(Community)).scalar() == 0
    finally:
        engine.dispose()


@app.command()
def seed(
    reset: Annotated[bool, typer.Option(help="Delete all data first.")] = False,
    scale: Annotated[
        int, typer.Option(min=1, max=100, help="N-times larger synthetic county.")
    ] = 1,
    counties: Annotated[
        int,
        typer.Option(
            min=1,
            max=100,
            help="A province of N counties side by side, each with its own areas, people, "
            "units, resources and backlog (each --scale times the reference county).",
        ),
    ] = 1,
    now: Annotated[
        str | None,
        typer.Option(
            "--now",
            help="Anchor the county at this time (ISO 8601, e.g. 2026-11-28T08:00+08:00): the "
            "year of history ends then and the backlog lies in the days after. Default: now. "
            "The same --now gives the same rows.",
            show_default=False,
        ),
    ] = None,
    refresh: Annotated[
        bool,
        typer.Option(
            "--refresh",
            help="Move an existing demo county forward to now by whole weeks, keeping what "
            "users did (see the README).",
        ),
    ] = False,
    database_url: DatabaseOpt = None,
) -> None:
    """Load Ji'an County's reference data (or a scaled synthetic county), anchored at now."""
    from schema.migrate import upgrade

    url = _database_url(database_url)
    anchor = _anchor(now)
    upgrade(url)
    if refresh:
        _refresh(url, anchor)
        return
    start = time.perf_counter()
    try:
        counts = _load_reference(url, reset=reset, scale=scale, counties=counties, now=anchor)
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    total = sum(counts.values())
    console.print(
        f"loaded {total:,} rows in {time.perf_counter() - start:.1f} s, "
        f"anchored at {anchor.isoformat()}"
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    seed_if_empty: Annotated[
        bool, typer.Option(help="Load the reference county into an empty database.")
    ] = True,
) -> None:
    """Migrate the database, load the reference county if it is empty, and serve the API."""
    import uvicorn

    from schema.migrate import upgrade

    settings = get_settings()
    _refuse_unsafe_production()
    upgrade(settings.database_url)
    wants_seed = seed_if_empty and settings.seed_on_empty and not settings.is_production
    if wants_seed and _database_is_empty(settings.database_url):
        console.print("empty database: loading Ji'an County's reference data")
        _load_reference(settings.database_url, reset=False, scale=1)
    console.print(f"serving GraphQL at http://{host}:{port}/graphql")
    uvicorn.run(**uvicorn_options(host=host, port=port, workers=workers))


@app.command()
def worker(
    health_port: Annotated[
        int | None,
        typer.Option(help="Answer GET /healthz on this port (LULING_WORKER_HEALTH_PORT)."),
    ] = None,
) -> None:
    """Solve queued matching jobs (LULING_JOB_RUNNER=queue, PostgreSQL); stop with SIGTERM."""
    import asyncio

    from api.jobqueue import is_postgresql, run_worker
    from api.logs import configure_logging
    from schema.migrate import is_up_to_date

    settings = get_settings()
    if health_port is not None:
        settings = settings.model_copy(update={"worker_health_port": health_port})
    configure_logging(settings.log_level, json=settings.log_json)
    if not is_postgresql(settings.database_url):
        console.print("[red]refusing to start:[/red] the job queue needs PostgreSQL (DATABASE_URL)")
        raise typer.Exit(1)
    if not is_up_to_date(settings.database_url):
        console.print(
            "[red]refusing to start:[/red] the database is not migrated: luling db upgrade"
        )
        raise typer.Exit(1)
    if settings.broadcast_backend_url.startswith("memory"):
        console.print("warning: LULING_BROADCAST_URL is memory://: progress reaches no API process")
    asyncio.run(run_worker(settings))


def uvicorn_options(*, host: str, port: int, workers: int = 1) -> dict[str, Any]:
    """The keyword arguments `luling serve` gives `uvicorn.run` (also `uvicorn.Config`)."""
    return {
        "app": "api.app:create_app",
        "factory": True,
        "host": host,
        "port": port,
        "workers": workers,
        "log_level": get_settings().log_level.lower(),
        "access_log": False,  # api.http_limits.HTTPGate logs requests, structured
        "ws": "websockets-sansio",
        # httptools' parser on uvloop's event loop: both pinned dependencies, named so that a
        # missing one fails at start instead of silently serving on the slower pure-Python
        # pair (h11, asyncio), as uvicorn's "auto" would.
        "http": "httptools",
        "loop": "uvloop",
        # No `server: uvicorn` banner: it only tells attackers what to try. `Date` stays: HTTP
        # requires it from an origin server with a clock (RFC 9110, 6.6.1).
        "server_header": False,
        "date_header": True,
        # The server itself refuses larger WebSocket messages (1009), as the app would.
        "ws_max_size": get_settings().max_body_bytes,
    }


def _refuse_unsafe_production() -> None:
    from api.safety import production_problems

    problems = production_problems(get_settings())
    if problems:
        for problem in problems:
            console.print(f"[red]refusing to start:[/red] {problem}")
        raise typer.Exit(1)


ROLE_NAMES = ", ".join(r.value for r in Role)


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


CommunityOpt = Annotated[
    str | None,
    typer.Option("--community", help="Scope a coordinator or grid worker to this community."),
]
CountyOpt = Annotated[
    bool,
    typer.Option(
        "--county", help="A county-wide coordinator or grid worker (instead of --community)."
    ),
]


def _role(role: str) -> Role:
    try:
        return Role(role.strip().lower())
    except ValueError:
        console.print(f"[red]error:[/red] unknown role '{role}' (one of: {ROLE_NAMES})")
        raise typer.Exit(2) from None


@dataclass(frozen=True)
class _Area:
    """`--community NAME` or `--county`, as the account services take them."""

    community: str | None
    county: bool

    @property
    def scope(self) -> AccountScope | None:
        return AccountScope.COUNTY if self.county else None

    async def community_id(self, session: Any) -> int | None:
        from sqlmodel import col, select

        from schema.models import Community

        if self.community is None:
            return None
        rows = await session.execute(
            select(Community.id).where(col(Community.name) == self.community)
        )
        ids = list(rows.scalars())
        if len(ids) != 1:
            found = "no" if not ids else "several"
            raise ValueError(f"{found} communities named '{self.community}'")
        return int(ids[0])

    def __str__(self) -> str:
        return f" in {self.community}" if self.community else " county-wide" if self.county else ""


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Argument(help="Login name (a-z 0-9 . _ -).")],
    role: Annotated[str, typer.Option("--role", help=f"One of: {ROLE_NAMES}.")],
    community: CommunityOpt = None,
    county: CountyOpt = False,
    person_id: Annotated[
        int | None, typer.Option("--person-id", help="The person this account belongs to.")
    ] = None,
    enterprise_id: Annotated[
        int | None,
        typer.Option("--enterprise-id", help="The enterprise an enterprise account speaks for."),
    ] = None,
    display_name: Annotated[str, typer.Option("--display-name", help="Name shown.")] = "",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    database_url: DatabaseOpt = None,
) -> None:
    """Create an account (e.g. the first administrator); prompts for the password."""
    import asyncio

    from schema.migrate import upgrade

    role_value = _role(role)
    password = _read_password(password_stdin)
    url = _database_url(database_url)
    upgrade(url)
    area = _Area(community, county)
    try:
        account = asyncio.run(
            _create_user(
                url,
                username,
                password,
                role_value,
                area,
                person_id,
                display_name,
                enterprise_id=enterprise_id,
            )
        )
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    console.print(f"created [bold]{account.username}[/bold] ({account.role.value}{area})")


async def _create_user(
    url: str,
    username: str,
    password: str,
    role: Role,
    area: _Area,
    person_id: int | None,
    display_name: str,
    *,
    enterprise_id: int | None = None,
) -> Account:
    import asyncio

    from api.database import Database
    from schema.services.accounts import create_account

    db = Database(url)
    try:
        async with db.transaction() as session:
            community_id = await area.community_id(session)
            with _domain_errors_as_value_errors():
                # One command, one hash: a worker thread, without the API's concurrency cap.
                return await create_account(
                    session=session,
                    username=username,
                    password=password,
                    role=role,
                    run_hash=asyncio.to_thread,
                    display_name=display_name,
                    community_id=community_id,
                    person_id=person_id,
                    enterprise_id=enterprise_id,
                    scope=area.scope,
                )
    finally:
        await db.dispose()


@user_app.command("set-role")
def user_set_role(
    username: Annotated[str, typer.Argument(help="The account.")],
    role: Annotated[str, typer.Option("--role", help=f"One of: {ROLE_NAMES}.")],
    community: CommunityOpt = None,
    county: CountyOpt = False,
    database_url: DatabaseOpt = None,
) -> None:
    """Give an account another role or area: its tokens stop working, its sockets close."""
    import asyncio

    role_value, area = _role(role), _Area(community, county)
    try:
        account_id = asyncio.run(_set_role(_database_url(database_url), username, role_value, area))
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    _announce_account_change(account_id, "role")
    console.print(f"[bold]{username}[/bold] is now {role_value.value}{area}")


async def _set_role(url: str, username: str, role: Role, area: _Area) -> int:
    from api.database import Database
    from schema.services.accounts import account_named, change_account_role

    db = Database(url)
    try:
        async with db.transaction() as session:
            community_id = await area.community_id(session)
            with _domain_errors_as_value_errors():
                account = await account_named(session, username)
                assert account.id is not None
                await change_account_role(
                    session=session,
                    account_id=account.id,
                    role=role,
                    community_id=community_id,
                    scope=area.scope,
                )
                return account.id
    finally:
        await db.dispose()


@contextmanager
def _domain_errors_as_value_errors() -> Iterator[None]:
    """A service's refusal as a `ValueError` saying "field: message" (the commands print it)."""
    from schema.services.errors import DomainError

    try:
        yield
    except DomainError as exc:
        raise ValueError("; ".join(f"{f}: {m}" if f else m for f, m in exc.problems)) from exc


@user_app.command("list")
def user_list(
    role: Annotated[str | None, typer.Option("--role", help="Only this role.")] = None,
    database_url: DatabaseOpt = None,
) -> None:
    """List accounts: username, role, scope, active, last login."""
    import sqlalchemy as sa
    from rich.table import Table
    from rich.text import Text
    from sqlmodel import col

    from schema.db import make_engine
    from schema.models import Account, Community

    engine = make_engine(_database_url(database_url))
    stmt = (
        sa.select(Account, col(Community.name))
        .join(Community, col(Account.community_id) == col(Community.id), isouter=True)
        .order_by(col(Account.id))
    )
    if role is not None:
        stmt = stmt.where(col(Account.role) == role.strip().lower())
    try:
        with engine.connect() as conn:
            rows = conn.execute(stmt).all()
    finally:
        engine.dispose()
    table = Table("username", "role", "community", "active", "last login")
    for row in rows:
        m = row._mapping
        last = m["last_login_at"]
        table.add_row(  # Text, not markup: a username or community name may hold "[/]"
            Text(m["username"]),
            str(m["role"]),
            Text(m["name"] or "(county)"),
            "yes" if m["is_active"] else "no",
            last.isoformat(timespec="minutes") if last else "",
        )
    Console().print(table)


@user_app.command("deactivate")
def user_deactivate(
    username: Annotated[str, typer.Argument(help="The account to deactivate.")],
    database_url: DatabaseOpt = None,
) -> None:
    """Deactivate an account: it can no longer log in and its tokens stop working."""
    import asyncio

    try:
        account_id = asyncio.run(_deactivate_user(_database_url(database_url), username))
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    _announce_account_change(account_id, "deactivated")
    console.print(f"deactivated [bold]{username}[/bold]")


async def _deactivate_user(url: str, username: str) -> int:
    from api.database import Database
    from schema.services.accounts import account_named, set_account_active

    db = Database(url)
    try:
        async with db.transaction() as session:
            with _domain_errors_as_value_errors():
                account = await account_named(session, username)
                assert account.id is not None
                await set_account_active(session=session, account_id=account.id, active=False)
                return account.id
    finally:
        await db.dispose()


def _announce_account_change(account_id: int, change: str) -> None:
    """Publish `account:<id>` on the API's broadcaster, so that the account's open sockets in
    every API process re-check it at once. With memory:// nothing outside this command hears
    it: the servers' periodic re-check (LULING_WEBSOCKET_RECHECK_SECONDS) closes them."""
    import asyncio

    from api.broadcast import make_broadcaster
    from api.ws.sessions import publish_account_change

    url = get_settings().broadcast_backend_url
    if url.lower().startswith("memory:"):
        return

    async def announce() -> None:
        broadcaster = make_broadcaster(url)
        try:
            await publish_account_change(broadcaster, account_id, change)
        finally:
            await broadcaster.stop()

    asyncio.run(announce())


@app.command()
def match(
    scope: Annotated[
        str | None, typer.Option("--scope", help="Community or village name; default: county.")
    ] = None,
    time_limit: Annotated[
        float, typer.Option("--time-limit", min=0.1, max=600, help="Solver time limit, s.")
    ] = 10.0,
    kinds: Annotated[
        str, typer.Option(help="Comma-separated: volunteer,resource,helper.")
    ] = "volunteer,resource,helper",
    emergency: Annotated[bool, typer.Option(help="Emergency weights (speed first).")] = False,
    counties: Annotated[
        str | None,
        typer.Option(
            "--counties",
            help="Comma-separated county names: a province job over them, one part per "
            "county (default with no --scope: every county, when the database holds several).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    database_url: DatabaseOpt = None,
) -> None:
    """Run a matching job on the current database and print its summary."""
    import json

    import sqlalchemy as sa
    from rich.table import Table
    from sqlmodel import col

    from schema.db import make_engine
    from schema.enums import JobStatus
    from schema.migrate import upgrade
    from schema.models import Community
    from schema.services.matching.jobs import create_scoped_job, read_job
    from schema.services.matching.runner import run_job

    url = _database_url(database_url)
    upgrade(url)
    engine = make_engine(url)
    try:
        scope_id = None
        if scope is not None:
            with engine.connect() as conn:
                scope_id = conn.execute(
                    sa.select(col(Community.id)).where(col(Community.name) == scope)
                ).scalar()
            if scope_id is None:
                console.print(f"[red]error:[/red] no community or village named {scope!r}")
                raise typer.Exit(2)
        try:
            with _domain_errors_as_value_errors(), engine.begin() as conn:
                job_id = create_scoped_job(
                    conn,
                    scope_community_id=scope_id,
                    counties=[c.strip() for c in counties.split(",") if c.strip()]
                    if counties is not None
                    else None,
                    kinds=[k.strip() for k in kinds.split(",") if k.strip()],
                    weights=None,
                    time_limit_s=time_limit,
                    emergency=emergency,
                )
        except ValueError as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
        with Progress(
            TextColumn("matching job {task.fields[job]}: {task.description:<10}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=as_json,
        ) as progress:
            task = progress.add_task("queued", total=1.0, job=job_id)

            def report(_: int, status: JobStatus, value: float, stage: str) -> None:
                progress.update(task, completed=value, description=stage)

            outcome = run_job(engine, job_id, on_progress=report)
        with engine.connect() as conn:
            job = read_job(conn, job_id)
    finally:
        engine.dispose()
    if job.scope_counties is not None:
        _province_summary(job, as_json=as_json)
        return
    result = outcome.result
    if outcome.status is not JobStatus.SUCCEEDED or result is None:
        console.print(f"[red]job {job_id} {outcome.status.value}:[/red] {outcome.error}")
        raise typer.Exit(1)
    summary = {
        "job_id": job_id,
        "status": outcome.status.value,
        "seconds": round(result.seconds, 3),
        "objective": result.objective,
        "bound": result.bound,
        "gap": result.gap,
        "optimal": result.optimal,
        "seats_filled": result.stats.seats_filled,
        "seats_total": result.stats.seats_total,
        "urgent_coverage": round(result.stats.urgent_coverage, 4),
        "proposals": len(result.assignments),
        "resource_allocations": len(result.resource_allocations),
        "helper_assignments": len(result.helper_assignments),
        "unmatched_needs": len(result.unmatched_needs),
        "unmatched_requests": len(result.unmatched_tasks),
    }
    if as_json:
        sys.stdout.write(json.dumps(summary, ensure_ascii=False) + "\n")
        return
    table = Table(title=f"matching job {job_id}", show_header=False)
    for key, value in summary.items():
        table.add_row(key.replace("_", " "), f"{value:.4%}" if key == "gap" else str(value))
    Console().print(table)


def _province_summary(job: Any, *, as_json: bool) -> None:
    """A province job's one result and its parts' figures."""
    import json

    from rich.table import Table

    from schema.enums import JobStatus

    if job.status is not JobStatus.SUCCEEDED:
        console.print(f"[red]job {job.id} {job.status.value}:[/red] {job.error}")
        raise typer.Exit(1)
    summary = {
        "job_id": job.id,
        "status": job.status.value,
        "counties": job.scope_counties,
        "seconds": job.seconds,
        "objective": job.objective,
        "bound": job.bound,
        "gap": job.gap,
        "optimal": job.optimal,
        "seats_filled": job.seats_filled,
        "seats_total": job.seats_total,
        "parts": job.county_stats,
    }
    if as_json:
        sys.stdout.write(json.dumps(summary, ensure_ascii=False) + "\n")
        return
    table = Table(title=f"province matching job {job.id}: gap {job.gap:.4%}")
    for name in ("counties", "job", "seconds", "pairs", "objective", "bound", "gap"):
        table.add_column(name)
    for part in job.county_stats:
        table.add_row(
            ", ".join(part["counties"]),
            str(part["job_id"]),
            f"{part['seconds']:.2f}",
            str(part.get("pairs")),
            f"{part['objective']:.0f}",
            f"{part['bound']:.0f}",
            f"{part['gap']:.4%}",
        )
    table.add_row(
        "total",
        str(job.id),
        f"{job.seconds:.2f}",
        "",
        f"{job.objective:.0f}",
        f"{job.bound:.0f}",
        f"{job.gap:.4%}",
    )
    Console().print(table)


@app.command("export-schema")
def export_schema(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to FILE instead of stdout.")
    ] = None,
) -> None:
    """Print the GraphQL SDL (the committed copy lives in api/schema.graphql)."""
    from api.graphql.schema import export_sdl

    sdl = export_sdl()
    if output is None:
        sys.stdout.write(sdl)
    else:
        output.write_text(sdl, encoding="utf-8")
        console.print(f"wrote {output}")


if __name__ == "__main__":
    app()


@app.command("privacy-table")
def privacy_table() -> None:
    """Print the README's privacy table: what each role sees of each personal field."""
    from schema.disclosure import privacy_table as table

    sys.stdout.write(table())
