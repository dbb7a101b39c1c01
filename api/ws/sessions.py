"""Open sockets of this process: how many, whose, and whether their callers may still be served.

How many: at most `websocket_max_per_address` per client address and
`websocket_max_per_account` signed-in ones per account, counted in the app's `Slots`
(api/slots.py): across every API process when Redis is set (a client spreading its sockets over
N processes meets one limit), else in this process.

A socket's rights are what its `connection_init` token granted: the account's state then
(`Grant`: active, password hash, role, community, person) until the token expires. They are
withdrawn, and the socket closed, when
- the token expires: 4401 (a timer at `exp`, and a check before every event sent);
- the account is deactivated (or gone): 4403;
- its token version moved on (password, role or area changed, reactivated), or its password,
  role, community or person changed: 4401 (log in again).
Changes are learnt from the `account:<id>` broadcast that account mutations and
`luling user deactivate` publish after committing (`publish_account_change`), from a re-read of
the account before every operation a socket starts, and from a periodic re-read of every watched
account (`websocket_recheck_seconds`, one query) in case a broadcast was lost.

One `AccountWatch` per account with open sockets in this process listens on its channel. When a
message arrives, delivery of events to that account's sockets is held (synchronously, before any
later event can be sent) until the account row has been re-read; then the sockets are either
closed or released. So once a change is broadcast, no event reaches a socket whose rights it
withdrew.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from api.auth.caller import forget_account
from api.broadcast import Broadcaster, account_channel
from api.database import Database
from api.logs import log
from api.settings import Settings
from api.slots import Lease, Slots
from schema.accounts import Account
from schema.enums import Role

# Close codes (graphql-transport-ws reserves 4400–4499 for such reasons).
EXPIRED_OR_CHANGED = 4401  # the token expired, or the account's credentials changed
DEACTIVATED = 4403
TOO_MANY_SOCKETS = 4429
RECHECK_FAILED = 1011  # the account could not be re-read: fail closed

_CHUNK = 500  # account ids per re-read statement


@dataclass(frozen=True)
class Grant:
    """The account state a socket was authenticated with; any change withdraws its rights."""

    is_active: bool
    token_version: int
    password_hash: str
    role: Role
    community_id: int | None
    person_id: int | None

    @classmethod
    def of(cls, account: Any) -> Grant:
        return cls(
            is_active=bool(account.is_active),
            token_version=int(account.token_version),
            password_hash=account.password_hash,
            role=Role(account.role),
            community_id=account.community_id,
            person_id=account.person_id,
        )


_GRANT_COLUMNS = (
    col(Account.id),
    col(Account.is_active),
    col(Account.token_version),
    col(Account.password_hash),
    col(Account.role),
    col(Account.community_id),
    col(Account.person_id),
)


class LiveSocket:
    """One open socket: its address, its caller once signed in, and whether it was revoked.

    `on_revoke(code, reason)` is the handler's way to close it; it runs at most once."""

    def __init__(self, address: str, on_revoke: Callable[[int, str], None]) -> None:
        self.address = address
        self.account_id: int | None = None
        self.grant: Grant | None = None
        self.expires_at: datetime | None = None
        self.watch: AccountWatch | None = None
        self.revoked: tuple[int, str] | None = None
        self.leases: list[Lease] = []  # its places in the per-address and per-account limits
        self.closed = False
        self._on_revoke = on_revoke
        self._timer: asyncio.TimerHandle | None = None

    def revoke(self, code: int, reason: str) -> None:
        if self.revoked is not None:
            return
        self.revoked = (code, reason)
        self.cancel_timer()
        log.info("websocket rights withdrawn", account_id=self.account_id, code=code, why=reason)
        self._on_revoke(code, reason)

    def expire_at(self, expires_at: datetime | None) -> None:
        """Close the socket with 4401 when the token expires."""
        self.expires_at = expires_at
        if expires_at is None:
            return
        loop = asyncio.get_running_loop()
        delay = max(0.0, (expires_at - datetime.now(UTC)).total_seconds())
        self._timer = loop.call_later(delay, self._expired)

    def _expired(self) -> None:
        self.revoke(EXPIRED_OR_CHANGED, "the token has expired; log in again")

    def cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def may_send(self) -> bool:
        """Whether an event may go out now (cheap: in memory). Waits while the account is being
        re-checked after an `account:<id>` broadcast."""
        if self.revoked is not None:
            return False
        watch = self.watch
        if watch is not None and not watch.clear.is_set():
            await watch.clear.wait()
        if self.revoked is not None:
            return False
        if self.expires_at is not None and self.expires_at <= datetime.now(UTC):
            self._expired()
            return False
        return True


class AccountWatch:
    """This process's listener on one account's channel, shared by that account's sockets."""

    def __init__(self, registry: SocketRegistry, account_id: int) -> None:
        self.registry, self.account_id = registry, account_id
        self.sockets: set[LiveSocket] = set()
        self.clear = asyncio.Event()  # set: events may flow; cleared while a change is checked
        self.clear.set()
        self.ready = asyncio.Event()  # set once the channel is listened to (or failed to be)
        self._pending = 0
        self.task = asyncio.get_running_loop().create_task(
            self._listen(), name=f"luling-account-watch-{account_id}"
        )

    def _hold(self, _message: dict[str, Any]) -> None:
        # Runs inside the broadcaster's delivery, before any event published after this message
        # can reach one of the account's sockets.
        self._pending += 1
        self.clear.clear()

    async def _listen(self) -> None:
        channel = account_channel(self.account_id)
        try:
            async with self.registry.broadcaster.subscribe(channel, on_deliver=self._hold) as inbox:
                self.ready.set()
                async for _ in inbox:
                    seen = 1
                    while not inbox.queue.empty():
                        inbox.queue.get_nowait()
                        seen += 1
                    try:
                        await self.registry.recheck([self.account_id])
                    except Exception as exc:  # cannot tell: fail closed
                        log.error(
                            "account re-check failed", account_id=self.account_id, error=str(exc)
                        )
                        for live in list(self.sockets):
                            live.revoke(RECHECK_FAILED, "could not re-check the account")
                    finally:
                        self._pending = max(0, self._pending - seen)
                        if self._pending == 0:
                            self.clear.set()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the broadcaster is down: the periodic re-read still runs
            log.warning("cannot listen for account changes", error=str(exc))
        finally:
            self._pending = 0
            self.ready.set()
            self.clear.set()


class SocketRegistry:
    """The open sockets of this process, by account; their places in the limits in `slots`."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        broadcaster: Broadcaster,
        slots: Slots | None = None,
    ) -> None:
        self.settings, self.db, self.broadcaster = settings, db, broadcaster
        self.slots = slots if slots is not None else Slots()
        self.watches: dict[int, AccountWatch] = {}
        self._sweeper: asyncio.Task[None] | None = None

    async def open(self, live: LiveSocket) -> str | None:
        """Count a new socket; the reason to refuse it, if over the per-address limit."""
        limit = self.settings.websocket_max_per_address
        lease = await self.slots.acquire(f"ws:address:{live.address}", limit)
        if lease is None:
            return "too many open sockets from this address"
        live.leases.append(lease)
        return None

    async def sign_in(
        self, live: LiveSocket, account: Account, expires_at: datetime | None
    ) -> str | None:
        """Attach an authenticated socket to its account's watch; the reason to refuse it, if
        the account has as many open sockets as it may."""
        assert account.id is not None
        limit = self.settings.websocket_max_per_account
        lease = await self.slots.acquire(f"ws:account:{account.id}", limit)
        if lease is None:
            return "too many open sockets for this account"
        live.leases.append(lease)
        if live.closed:  # it ended while the place was being taken: give it back
            await self.close(live)
            return "the socket closed"
        watch = self.watches.get(account.id)
        if watch is None or watch.task.done():  # none yet, or its listener ended: a new one
            old, watch = watch, AccountWatch(self, account.id)
            self.watches[account.id] = watch
            for other in old.sockets if old is not None else ():
                other.watch = watch
                watch.sockets.add(other)
            self._start_sweeper()
        live.account_id, live.grant, live.watch = account.id, Grant.of(account), watch
        watch.sockets.add(live)
        live.expire_at(expires_at)
        # Listen before acknowledging: a change committed from now on reaches this socket.
        await watch.ready.wait()
        return None

    async def close(self, live: LiveSocket) -> None:
        """Forget a socket that has ended, and give back its places."""
        live.closed = True
        live.cancel_timer()
        self._unwatch(live)
        leases, live.leases = live.leases, []
        for lease in leases:
            await self.slots.release(lease)

    def _unwatch(self, live: LiveSocket) -> None:
        watch = live.watch
        if watch is None:
            return
        live.watch = None
        watch.sockets.discard(live)
        if not watch.sockets and self.watches.get(watch.account_id) is watch:
            del self.watches[watch.account_id]
            watch.task.cancel()
        if not self.watches and self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None

    async def recheck(self, account_ids: Iterable[int]) -> None:
        """Re-read these accounts (one statement per 500) and close the sockets whose rights
        changed: 4403 when deactivated or gone, 4401 when credentials, role or scope changed."""
        ids = sorted({i for i in account_ids if i in self.watches})
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            async with self.db.session() as session:
                rows = (
                    await session.execute(
                        sa.select(*_GRANT_COLUMNS).where(col(Account.id).in_(chunk))
                    )
                ).all()
            now = {row.id: Grant.of(row) for row in rows}
            for account_id in chunk:
                watch = self.watches.get(account_id)
                if watch is None:
                    continue
                current = now.get(account_id)
                for live in list(watch.sockets):
                    if current is None or not current.is_active:
                        live.revoke(DEACTIVATED, "the account was deactivated")
                    elif current != live.grant:
                        live.revoke(EXPIRED_OR_CHANGED, "the account changed; log in again")

    def _start_sweeper(self) -> None:
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.get_running_loop().create_task(
                self._sweep(), name="luling-account-sweep"
            )

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.settings.websocket_recheck_seconds)
            try:
                await self.recheck(list(self.watches))
            except Exception as exc:  # the database is down: try again next round
                log.warning("periodic account re-check failed", error=str(exc))

    async def stop(self) -> None:
        tasks = [w.task for w in self.watches.values()]
        if self._sweeper is not None:
            tasks.append(self._sweeper)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.watches.clear()
        self._sweeper = None


async def publish_account_change(broadcaster: Broadcaster, account_id: int, change: str) -> None:
    """Tell every API process that an account changed (after the change committed): its open
    sockets re-read it. `change` is informational (deactivated, reactivated, password …)."""
    forget_account(account_id)  # this process's token checks re-read it now (others: TTL)
    message = {"accountId": account_id, "change": change}
    await broadcaster.publish_many([(account_channel(account_id), message)])
