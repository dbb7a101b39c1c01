"""`luling import registry|hotline` and `luling export needs|requests|hours`: files in and out."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from api.settings import get_settings

import_app = typer.Typer(help="Import files offices keep: the shared registry, 12345 tickets.")
console = Console(stderr=True)

DatabaseOpt = Annotated[
    str | None, typer.Option("--database-url", help="Overrides DATABASE_URL.", show_default=False)
]
KINDS = "people, houses, enterprises"


def _url(url: str | None) -> str:
    return url or get_settings().database_url


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


@import_app.command("registry")
def import_registry(
    file: Annotated[Path, typer.Argument(help="A .csv or .xlsx file with a header row.")],
    kind: Annotated[str, typer.Option("--kind", help=f"One of: {KINDS}.")],
    report: Annotated[
        Path | None,
        typer.Option("--report", help="Where refused rows go; default FILE.refused.csv."),
    ] = None,
    max_refused: Annotated[
        float,
        typer.Option(
            "--max-refused",
            min=0.0,
            max=1.0,
            help="Largest share of refused rows accepted; above it nothing is imported.",
        ),
    ] = 1.0,
    workers: Annotated[
        int,
        typer.Option("--workers", min=1, max=16, help="Processes checking rows (see README)."),
    ] = 1,
    database_url: DatabaseOpt = None,
) -> None:
    """Validate and upsert a shared-registry file (一表同享); refused rows go to a report."""
    from schema.db import make_engine
    from schema.migrate import upgrade
    from schema.registry import KIND_BY_NAME
    from schema.services.registry_import import ImportAborted
    from schema.services.registry_import import import_registry as run_import
    from schema.services.tabular import TableFileError

    if kind not in KIND_BY_NAME:
        console.print(f"[red]error:[/red] unknown kind '{kind}' (one of: {KINDS})")
        raise typer.Exit(2)
    url = _url(database_url)
    upgrade(url)
    report_path = report or file.with_name(file.name + ".refused.csv")
    engine = make_engine(url)
    try:
        with _progress() as bar:
            tasks: dict[str, TaskID] = {}

            def progress(stage: str, done: int, total: int | None) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total)
                bar.update(tasks[stage], completed=done, total=total)

            result = run_import(
                engine,
                KIND_BY_NAME[kind],
                file,
                report_path,
                max_refused=max_refused,
                progress=progress,
                workers=workers,
            )
    except TableFileError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    except ImportAborted as exc:
        console.print(f"[red]aborted:[/red] {exc}; refused rows in {report_path}")
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    rate = result.read / result.seconds if result.seconds else 0.0
    console.print(
        f"read {result.read:,} rows in {result.seconds:.1f} s ({rate:,.0f} rows/s): "
        f"{result.inserted:,} inserted, {result.updated:,} updated, "
        f"{result.unchanged:,} unchanged, {result.refused:,} refused"
    )
    if not result.changed:
        console.print("nothing changed: the registry already held every row of this file")
    if result.refused:
        console.print(f"refused rows and their reasons: {report_path}")


def _parse_day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        console.print(f"[red]error:[/red] {option} must be a date like 2026-01-31")
        raise typer.Exit(2) from None


@import_app.command("hotline")
def import_hotline(
    file: Annotated[Path, typer.Argument(help="A 12345 ticket export, .csv or .xlsx.")],
    as_user: Annotated[
        str | None,
        typer.Option("--as", help="File the needs as this staff account (default: 12345热线)."),
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option("--report", help="Where refused tickets go; default FILE.refused.csv."),
    ] = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Turn 12345 hotline tickets into needs, once per ticket number."""
    import asyncio

    from schema.migrate import upgrade
    from schema.services.tabular import TableFileError

    url = _url(database_url)
    upgrade(url)
    report_path = report or file.with_name(file.name + ".refused.csv")
    try:
        result = asyncio.run(_import_hotline(url, file, as_user, report_path))
    except (TableFileError, ValueError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    console.print(
        f"read {result.read:,} tickets: {result.created:,} needs created, "
        f"{result.already:,} already imported, {len(result.refused or ()):,} refused"
    )
    if result.refused:
        console.print(f"refused tickets and their reasons: {report_path}")


async def _import_hotline(url: str, file: Path, as_user: str | None, report_path: Path) -> Any:
    from api.database import Database
    from schema.enums import Role
    from schema.services.accounts import account_named
    from schema.services.common import Actor
    from schema.services.errors import DomainError
    from schema.services.hotline import canonical_header, import_tickets
    from schema.services.tabular import ReportWriter, TableFileError, open_table

    table = open_table(file)
    header = [canonical_header(h) for h in table.header]
    if "ticket_no" not in header:
        raise TableFileError(f"{file.name}: missing column ticket_no (工单编号)")
    cells_by_line: dict[int, list[str]] = {}

    def rows() -> Any:
        for line, cells in table.rows:
            cells_by_line[line] = cells
            yield line, dict(zip(header, cells, strict=False))

    db = Database(url)
    try:
        async with db.transaction() as session:
            if as_user is None:
                actor = Actor(account_id=None, name="12345热线", role=Role.COORDINATOR)
            else:
                try:
                    account = await account_named(session, as_user)
                except DomainError as exc:
                    raise ValueError(f"no account named '{as_user}'") from exc
                actor = Actor.of(account)
            with _progress() as bar:
                task = bar.add_task("tickets", total=table.total)
                result = await import_tickets(session, actor, _ticking(rows(), bar, task))
    finally:
        await db.dispose()
    writer = ReportWriter(report_path, table.header)
    for line, reason in result.refused or ():
        writer.refuse(line, reason, cells_by_line[line])
    writer.close()
    return result


def _ticking(rows: Any, bar: Progress, task: TaskID) -> Any:
    for n, row in enumerate(rows, start=1):
        yield row
        if n % 100 == 0:
            bar.update(task, completed=n)


def export(
    what: Annotated[str, typer.Argument(help="needs, requests, hours or hotline.")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File to write; default <what>.<format>."),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or xlsx.")] = "csv",
    start: Annotated[
        str | None, typer.Option("--from", help="First day, county time (2026-01-01).")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day, inclusive.")] = None,
    community: Annotated[
        str | None, typer.Option("--community", help="Only this community or village (name).")
    ] = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Export needs, enterprise requests or service hours of a period and area (no personal
    data) for reporting upward, or the answers given in it to 12345 tickets (hotline)."""
    from schema.db import make_engine
    from schema.migrate import upgrade
    from schema.services.exports import TABLES, Period, community_id_named
    from schema.services.tabular import write_table

    if what not in TABLES:
        console.print(
            f"[red]error:[/red] unknown export '{what}' (needs, requests, hours or hotline)"
        )
        raise typer.Exit(2)
    if fmt not in ("csv", "xlsx"):
        console.print(f"[red]error:[/red] unknown format '{fmt}' (csv or xlsx)")
        raise typer.Exit(2)
    try:
        period = Period(_parse_day(start, "--from"), _parse_day(end, "--to"))
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    path = output or Path(f"{what}.{fmt}")
    if path.suffix.lower() != f".{fmt}":
        path = path.with_name(path.name + f".{fmt}")
    url = _url(database_url)
    upgrade(url)
    engine = make_engine(url)
    header, rows = TABLES[what]
    try:
        with engine.connect() as conn:
            try:
                community_id = community_id_named(conn, community) if community else None
            except ValueError as exc:
                console.print(f"[red]error:[/red] {exc}")
                raise typer.Exit(2) from exc
            try:
                count = write_table(path, header, rows(conn, period, community_id), sheet=what)
            except OSError as exc:  # no such folder, no permission, disk full …
                console.print(f"[red]error:[/red] cannot write {path}: {exc.strerror or exc}")
                raise typer.Exit(2) from exc
    finally:
        engine.dispose()
    console.print(f"wrote {count:,} {what} rows to {path}")
