"""`luling import registry|hotline` and `luling export needs|requests|hours`: files in and out."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

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
export_app = typer.Typer(help="Export needs, enterprise requests or service hours for reporting.")
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
