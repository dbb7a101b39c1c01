"""`luling notifications list|retry|dispatch`: the outbox from the command line."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from api.settings import get_settings
from schema.notifications import DeliveryStatus, Notification, NotificationDelivery

notifications_app = typer.Typer(
    help="Notifications: list deliveries, retry dead letters, run the dispatcher.",
    no_args_is_help=True,
)
console = Console(stderr=True)
STATUSES = ", ".join(s.value for s in DeliveryStatus)

DatabaseOpt = Annotated[
    str | None, typer.Option("--database-url", help="Overrides DATABASE_URL.", show_default=False)
]


def _engine(url: str | None) -> sa.Engine:
    from schema.db import make_engine

    return make_engine(url or get_settings().database_url)


def _status(value: str) -> DeliveryStatus:
    for status in DeliveryStatus:
        if status.value == value:
            return status
    console.print(f"[red]error:[/red] --status: one of {STATUSES}")
    raise typer.Exit(2)


@notifications_app.command("list")
def list_deliveries(
    status: Annotated[str, typer.Option(help=f"One of: {STATUSES}.")] = "pending",
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    database_url: DatabaseOpt = None,
) -> None:
    """Deliveries in a status (pending by default; `--status dead` lists the dead letters)."""
    from schema.db import table_of

    d = table_of(NotificationDelivery).c
    n = table_of(Notification).c
    engine = _engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    d.id,
                    d.channel,
                    d.address,
                    d.status,
                    d.attempts,
                    d.next_attempt_at,
                    d.last_error,
                    n.title,
                )
                .join_from(NotificationDelivery, Notification, d.notification_id == n.id)
                .where(d.status == _status(status))
                .order_by(d.next_attempt_at, d.id)
                .limit(limit)
            ).all()
    finally:
        engine.dispose()
    table = Table("id", "channel", "address", "attempts", "next attempt (UTC)", "title", "error")
    for r in rows:
        # Text, not markup: titles are people's free text and errors a provider's ("[/]" in
        # one would make Rich raise, "[red]" would be drawn).
        table.add_row(
            *(
                Text(cell)
                for cell in (
                    str(r.id),
                    r.channel.value,
                    r.address,
                    str(r.attempts),
                    f"{r.next_attempt_at:%Y-%m-%d %H:%M:%S}",
                    r.title,
                    (r.last_error or "")[:80],
                )
            )
        )
    Console().print(table)
    console.print(f"{len(rows)} {status} deliver{'y' if len(rows) == 1 else 'ies'}")


@notifications_app.command("retry")
def retry(
    ids: Annotated[list[int] | None, typer.Argument(help="Dead letters' ids.")] = None,
    all_dead: Annotated[bool, typer.Option("--all", help="Every dead letter.")] = False,
    database_url: DatabaseOpt = None,
) -> None:
    """Send dead letters again (their count of attempts starts over)."""
    from schema.services.notification_outbox import retry_dead

    if not ids and not all_dead:
        console.print("[red]error:[/red] name the deliveries to retry, or --all")
        raise typer.Exit(2)
    engine = _engine(database_url)
    try:
        done = retry_dead(engine, None if all_dead else list(ids or []))
    finally:
        engine.dispose()
    missing = sorted(set(ids or []) - set(done))
    console.print(f"{len(done)} dead letter(s) queued again: {done}")
    if missing:
        console.print(f"[yellow]not dead letters (left as they are):[/yellow] {missing}")


@notifications_app.command("dispatch")
def dispatch(
    loop: Annotated[bool, typer.Option("--loop", help="Keep dispatching until stopped.")] = False,
    interval: Annotated[
        float | None, typer.Option(help="Seconds between rounds (default: the setting).")
    ] = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Send what is due: one round, or rounds until stopped (--loop); several at once are safe."""
    from api.notify.dispatcher import Dispatcher

    settings = get_settings()
    engine = _engine(database_url)
    dispatcher = Dispatcher(lambda: engine, settings)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        if loop:
            wait = settings.notify_dispatch_seconds if interval is None else interval
            sent = dispatcher.run(interval=wait or 5.0, stop=stop)
        else:
            out = dispatcher.run_once()
            sent = len(out.sent)
            console.print(
                f"claimed {len(out.claimed)}, sent {sent}, retrying {len(out.failed)}, "
                f"dead {len(out.dead)}, held back {len(out.deferred)}, "
                f"throttled {len(out.throttled)}"
            )
    finally:
        engine.dispose()
    console.print(f"{sent} sent by {dispatcher.worker}")
