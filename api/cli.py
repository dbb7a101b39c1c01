"""The `luling` command: serve the API, migrate, seed, manage users, export the schema."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from api.settings import get_settings

app = typer.Typer(
    help="Luling (庐陵善治): grassroots-governance matching service.", no_args_is_help=True
)
db_app = typer.Typer(help="Database migrations (Alembic).", no_args_is_help=True)
app.add_typer(db_app, name="db")
console = Console(stderr=True)


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


def _load_reference(url: str, *, reset: bool, scale: int) -> dict[str, int]:
    from seed.load import load_reference

    from schema.db import make_engine

    engine = make_engine(url)
    columns = (
        TextColumn("{task.description:<24}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    try:
        with Progress(*columns, console=console, transient=False) as progress:
            tasks: dict[str, int] = {}

            def report(table: str, done: int, total: int) -> None:
                if table not in tasks:
                    tasks[table] = progress.add_task(table, total=total)
                progress.update(tasks[table], completed=done)

            return load_reference(engine, reset=reset, scale=scale, progress=report)
    finally:
        engine.dispose()


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
    database_url: DatabaseOpt = None,
) -> None:
    """Load Ji'an County's reference data (or a scaled synthetic county)."""
    from schema.migrate import upgrade

    url = _database_url(database_url)
    upgrade(url)
    start = time.perf_counter()
    try:
        counts = _load_reference(url, reset=reset, scale=scale)
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    total = sum(counts.values())
    console.print(f"loaded {total:,} rows in {time.perf_counter() - start:.1f} s")


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
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level.lower(),
        access_log=False,
        ws="websockets-sansio",
    )


def _refuse_unsafe_production() -> None:
    from api.safety import production_problems

    problems = production_problems(get_settings())
    if problems:
        for problem in problems:
            console.print(f"[red]refusing to start:[/red] {problem}")
        raise typer.Exit(1)


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
