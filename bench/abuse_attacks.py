"""The hostile requests of `bench/abuse.py`: one small async function per attack.

An attack is registered with `@attack(name)` (or `simple(...)` for one document sent N times in
parallel); it gets the `Target` (server address, demo tokens, real ids, the per-request timeout)
and returns an `Outcome`: one `Shot` per request or socket (time to its answer or refusal, HTTP
status or WebSocket close code, `errors[0].extensions.code`), notes for the table, and failures
that make the attack not ok beyond the timing rules applied by `bench/abuse.py`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import sqlite3
import time
from collections.abc import Awaitable, Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

REFUSAL_MS = 100.0  # an answer (or refusal) slower than this is not ok
AUDIT_LIMIT = 64_000  # audit bytes one request may make the server write
MAX_TOKENS = 4_000  # the server's LULING_MAX_TOKENS: documents are built to stay just under it
MAX_NESTING = 200  # graphql-core's parser refuses deeper selection sets


@dataclass
class Shot:
    """One request or socket: `kind` is answered, refused, internal, timeout, error or open."""

    ms: float
    status: int | str  # HTTP status; "ws:<close code>", "open", "timeout" or "error" otherwise
    code: str | None = None
    kind: str = "answered"


@dataclass
class Outcome:
    shots: list[Shot] = field(default_factory=list)
    requests: str = "1"
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    limit_ms: float = REFUSAL_MS
    figures: dict[str, Any] = field(default_factory=dict)


class Skip(Exception):
    """The attack cannot run against this server (e.g. no demo account to log in as)."""


@dataclass
class Target:
    http: str  # http://127.0.0.1:<port>/graphql
    timeout: float  # per request, seconds
    tokens: dict[str, str] = field(default_factory=dict)  # "volunteer" -> bearer token
    activity_id: str | None = None
    need_id: str | None = None  # a reported need the coordinator may accept
    secret: str | None = None  # the server's signing secret, when the bench started it
    sqlite: Path | None = None

    @property
    def ws(self) -> str:
        return "ws" + self.http.removeprefix("http")

    def token(self, role: str) -> str:
        if role not in self.tokens:
            raise Skip(f"no demo-{role} login")
        return self.tokens[role]


Attack = Callable[[Target], Awaitable[Outcome]]
ATTACKS: list[tuple[str, Attack]] = []


def attack(name: str) -> Callable[[Attack], Attack]:
    def register(fn: Attack) -> Attack:
        ATTACKS.append((name, fn))
        return fn

    return register


def ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def classify(status: int, body: bytes | str, ms: float) -> Shot:
    """A Shot from an HTTP answer: errors[0]'s code, else the first root payload's userErrors."""
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    code = None
    if isinstance(doc, dict) and isinstance(doc.get("errors"), list) and doc["errors"]:
        first = doc["errors"][0]
        code = str(((first.get("extensions") or {}) if isinstance(first, dict) else {}).get("code"))
    elif isinstance(doc, dict) and isinstance(doc.get("data"), dict):
        for payload in doc["data"].values():
            if isinstance(payload, dict) and payload.get("userErrors"):
                code = str(payload["userErrors"][0].get("code"))
                break
    if (isinstance(status, int) and status >= 500) or code == "INTERNAL":
        return Shot(ms, status, code, "internal")
    return Shot(ms, status, code, "refused" if status >= 400 or code else "answered")


async def send(
    client: httpx.AsyncClient,
    t: Target,
    query: str | None = None,
    variables: dict[str, Any] | None = None,
    token: str | None = None,
    body: bytes | None = None,
    operation: str | None = None,
) -> Shot:
    """POST one GraphQL request; cut at the per-request timeout."""
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    if body is None:
        payload: dict[str, Any] = {"query": query, "variables": variables or {}}
        if operation:
            payload["operationName"] = operation
        body = json.dumps(payload, separators=(",", ":")).encode()
    start = time.perf_counter()
    try:
        r = await asyncio.wait_for(client.post(t.http, content=body, headers=headers), t.timeout)
    except TimeoutError:
        return Shot(ms_since(start), "timeout", None, "timeout")
    except httpx.HTTPError as exc:
        return Shot(ms_since(start), "error", type(exc).__name__, "error")
    return classify(r.status_code, r.content, ms_since(start))


def http_client(t: Target, n: int = 4) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=t.timeout + 5, limits=httpx.Limits(max_connections=n))


async def burst(t: Target, n: int = 1, **request: Any) -> list[Shot]:
    async with http_client(t, n) as client:
        return list(await asyncio.gather(*(send(client, t, **request) for _ in range(n))))


def simple(
    name: str,
    build: Callable[[Target], dict[str, Any]],
    n: int = 1,
    check: Callable[[Outcome], None] | None = None,
) -> None:
    """Register an attack that sends the request `build(target)` makes, n times in parallel;
    `check` may add notes or failures to the outcome."""

    async def run(t: Target) -> Outcome:
        request = build(t)
        out = Outcome(
            shots=await burst(t, n, **request), requests=f"{n} parallel" if n > 1 else "1"
        )
        size = len(request.get("body") or request.get("query") or "")
        out.notes.append(f"{size / 1000:.0f} kB" if size > 10_000 else "")
        if check is not None:
            check(out)
        return out

    attack(name)(run)


# ------------------------------------------------------------------------------------------
# 1-3. Documents that multiply work: fragment bombs, list nesting, aliases


def fragment_bomb(levels: int) -> str:
    chain = " ".join(
        f"fragment F{i} on Skill {{ id ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    return f"query {{ skills {{ ...F0 }} }} {chain} fragment F{levels} on Skill {{ id }}"


simple("fragment bomb, 40 levels", lambda t: {"query": fragment_bomb(40)})
simple("fragment bomb, 20 levels", lambda t: {"query": fragment_bomb(20)})

NEST = "signUps{person{signUps{activity{signUps{person{signUps{%s}}}}}}}"
simple(
    "list nesting (volunteer)",
    lambda t: {
        "query": "{activities(first:1){nodes{%s}}}" % (NEST % "id"),
        "token": t.token("volunteer"),
    },
)
simple(
    "list nesting +2 levels (volunteer)",
    lambda t: {
        "query": "{activities(first:1){nodes{%s}}}" % (NEST % "activity{signUps{id}}"),
        "token": t.token("volunteer"),
    },
)


def ten_aliases(t: Target) -> dict[str, Any]:
    if t.activity_id is None:
        raise Skip("no activity")
    nest = "signUps{activity{signUps{activity{signUps{id}}}}}"
    one = f'activity(id:"{t.activity_id}"){{{nest}}}'
    return {"query": "{" + " ".join(f"a{i}: {one}" for i in range(10)) + "}"}


simple("10 aliases of activity nesting", ten_aliases)

# ------------------------------------------------------------------------------------------
# 4. Audit amplification: every root mutation field is audited with its arguments

REPORT = (
    'r%d: reportNeed(input:{title:"t",category:ENVIRONMENT,'
    "location:{latitude:27.1,longitude:114.9},mediaUrls:$m%s}){userErrors{code}}"
)
URLS = [f"http://a/{i:03x}" for i in range(2100)]


def audit_size(path: Path | None) -> tuple[int, int, int] | None:
    """(audit rows, bytes of their variables, database + WAL file bytes) of a SQLite file."""
    if path is None or not path.exists():
        return None
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as conn:
        rows, size = conn.execute(
            "SELECT count(*), sum(length(variables)) FROM audit_log"
        ).fetchone()
    wal = path.with_name(path.name + "-wal")
    return rows, size or 0, path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


async def audit_attack(t: Target, shared: bool) -> Outcome:
    n = 30
    decl = "$m:[String!]!" if shared else ",".join(f"$m{i}:[String!]!" for i in range(n))
    fields = " ".join(REPORT % (i, "" if shared else i) for i in range(n))
    variables = {"m": URLS} if shared else {f"m{i}": URLS for i in range(n)}
    document = {"query": f"mutation({decl}){{{fields}}}", "variables": variables}
    body = json.dumps(document, separators=(",", ":"))
    before = audit_size(t.sqlite)
    out = Outcome(shots=await burst(t, 1, body=body.encode()), requests="1 (30 aliases)")
    out.notes.append(f"body {len(body) / 1e6:.2f} MB")
    await asyncio.sleep(0.3)  # the audit rows are written in a transaction of their own
    after = audit_size(t.sqlite)
    if before is None or after is None:
        out.notes.append("audit not visible")
        return out
    rows, written, grown = (a - b for a, b in zip(after, before, strict=True))
    out.figures |= {"audit_rows": rows, "audit_bytes": written, "db_growth_bytes": grown}
    out.notes.append(f"audit +{rows} rows, +{written / 1e6:.2f} MB (db+wal +{grown / 1e6:.2f} MB)")
    if written > AUDIT_LIMIT:
        out.failures.append(f"audit wrote {written / 1e6:.1f} MB")
    return out


attack("audit: 30 reportNeed x 2100 urls")(lambda t: audit_attack(t, shared=False))
attack("audit: same via 1 shared variable")(lambda t: audit_attack(t, shared=True))

# ------------------------------------------------------------------------------------------
# 5. WebSocket (graphql-transport-ws)


async def ws_open(t: Target, init: dict[str, Any] | None = None) -> ClientConnection:
    """A socket (no pings, no compression); with `init`, connection_init and its ack."""
    ws = await connect(
        t.ws,
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]  # websockets wants Subprotocol, a str NewType
        max_size=None,
        open_timeout=t.timeout,
        ping_interval=None,
        compression=None,
    )
    if init is not None:
        await ws.send(json.dumps({"type": "connection_init", "payload": init}))
        reply = json.loads(await asyncio.wait_for(ws.recv(), t.timeout))
        if reply.get("type") != "connection_ack":
            raise RuntimeError(f"no connection_ack: {reply}")
    return ws


def closed_shot(exc: ConnectionClosed, start: float) -> Shot:
    code = exc.rcvd.code if exc.rcvd else 1006
    return Shot(ms_since(start), f"ws:{code}", None, "internal" if code == 1011 else "refused")


async def ws_reply(ws: ClientConnection, t: Target, start: float) -> Shot:
    """The first message (or close) after a subscribe, as a Shot."""
    try:
        message = json.loads(await asyncio.wait_for(ws.recv(), t.timeout))
    except TimeoutError:
        return Shot(ms_since(start), "timeout", None, "timeout")
    except ConnectionClosed as exc:
        return closed_shot(exc, start)
    if message.get("type") == "next":
        shot = classify(200, json.dumps(message.get("payload")), ms_since(start))
        shot.status = "ws:next"
        return shot
    errors = message.get("payload") or [{}]
    code = str((errors[0].get("extensions") or {}).get("code"))
    return Shot(ms_since(start), f"ws:{message.get('type')}", code, "refused")


@attack("ws: 3 MB subscribe message")
async def ws_big_message(t: Target) -> Outcome:
    pad = "x" * 3_000_000  # an undeclared variable: ignored once the frame is read and parsed
    payload = {"query": "{ skills { id } }", "variables": {"pad": pad}}
    ws = await ws_open(t, init={})
    try:
        start = time.perf_counter()
        try:
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            shot = await ws_reply(ws, t, start)
        except ConnectionClosed as exc:
            shot = closed_shot(exc, start)
    finally:
        await ws.close()
    out = Outcome(shots=[shot])
    if shot.kind == "answered":
        out.failures.append("3 MB frame accepted")
    return out


@attack("ws: 300 idle sockets, no init, 6 s")
async def ws_idle(t: Target) -> Outcome:
    hold = 6.0

    async def one() -> Shot:
        start = time.perf_counter()
        try:
            ws = await ws_open(t)
        except InvalidStatus as exc:
            return Shot(ms_since(start), f"http:{exc.response.status_code}", None, "refused")
        except (OSError, TimeoutError) as exc:
            return Shot(ms_since(start), "error", type(exc).__name__, "error")
        try:
            await asyncio.wait_for(ws.wait_closed(), hold)
            return Shot(ms_since(start), f"ws:{ws.close_code}", None, "refused")
        except TimeoutError:
            return Shot(ms_since(start), "open", None, "open")
        finally:
            await ws.close()

    shots = list(await asyncio.gather(*(one() for _ in range(300))))
    closed = sum(s.kind == "refused" for s in shots)
    out = Outcome(shots=shots, requests="300 sockets", limit_ms=hold * 1000)
    out.notes.append(f"{closed}/300 closed by the server within {hold:g} s")
    return out


SUBSCRIBE = "subscription($id: ID!){ needUpdated(id: $id){ id status version } }"
ACCEPT = (
    "mutation($id: ID!){ acceptNeed(input:{needId: $id}){ need { status } userErrors { code } } }"
)


@attack("ws: 20 sockets x 100 subs + acceptNeed")
async def ws_fanout(t: Target) -> Outcome:
    token = t.token("coordinator")
    if t.need_id is None:
        raise Skip("no reported need the coordinator may accept")
    auth = {"authorization": f"Bearer {token}"}
    opened = await asyncio.gather(
        *(ws_open(t, init=auth) for _ in range(20)), return_exceptions=True
    )
    sockets = [ws for ws in opened if not isinstance(ws, BaseException)]
    closed = len(opened) - len(sockets)  # refused by the server's per-account limit
    arrivals: list[float] = []
    refusals: list[str] = []

    async def read(ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                message = json.loads(raw)
                if message.get("type") == "next":
                    arrivals.append(time.perf_counter())
                elif message.get("type") == "error":
                    refusals.append("error")
        except ConnectionClosed as exc:
            refusals.append(f"ws:{exc.rcvd.code if exc.rcvd else 1006}")

    readers = [asyncio.create_task(read(ws)) for ws in sockets]
    try:
        sub = {"query": SUBSCRIBE, "variables": {"id": t.need_id}}
        for ws in sockets:
            for i in range(100):
                await ws.send(json.dumps({"id": str(i), "type": "subscribe", "payload": sub}))
        await asyncio.sleep(1.0)  # the protocol acknowledges no subscribe: let them settle
        start = time.perf_counter()
        shots = await burst(t, 1, query=ACCEPT, variables={"id": t.need_id}, token=token)
        deadline = start + t.timeout
        expected = 100 * len(sockets) - len(refusals)
        while len(arrivals) < expected and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
    finally:
        for ws in sockets:
            await ws.close()
        await asyncio.gather(*readers, return_exceptions=True)
    out = Outcome(shots=shots, requests="20 ws x 100 subs + 1")
    fanout = (max(arrivals) - start) * 1000 if arrivals else None
    out.figures |= {
        "events": len(arrivals),
        "fanout_ms": fanout,
        "refusals": len(refusals),
        "sockets_refused": closed,
    }
    out.notes.append(
        f"{len(sockets)} sockets open, {closed} refused; {len(arrivals)} events"
        + (f" in {fanout:.0f} ms" if fanout else "")
        + (f", {len(refusals)} subs refused" if refusals else "")
    )  # fmt: skip
    return out


# ------------------------------------------------------------------------------------------
# 6. Password spraying from one address, with a public query measured beside it

LOGIN = """mutation($u: String!, $p: String!){
  login(username: $u, password: $p){ token userErrors { code } } }"""
STATS = "{ countyStats { pairedUnits } }"


@attack("password spraying, 16 workers x 3 s")
async def spray(t: Target) -> Outcome:
    stop = time.perf_counter() + 3.0
    logins: list[Shot] = []
    stats: list[Shot] = []
    async with http_client(t, 17) as client:

        async def sprayer() -> None:
            while time.perf_counter() < stop:
                user = {"u": "u" + secrets.token_hex(6), "p": secrets.token_hex(8)}
                logins.append(await send(client, t, LOGIN, user))

        async def public() -> None:
            while time.perf_counter() < stop:
                stats.append(await send(client, t, STATS))
                await asyncio.sleep(0.02)

        await asyncio.gather(*(sprayer() for _ in range(16)), public())
    limited = sum(s.code == "RATE_LIMITED" for s in logins)
    ms = sorted(s.ms for s in stats) or [0.0]
    p50, p99 = ms[len(ms) // 2], ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    out = Outcome(shots=logins, requests=f"{len(logins)} logins")
    out.figures |= {"rate_limited": limited, "county_stats_p50_ms": p50, "county_stats_p99_ms": p99}
    out.notes.append(f"{limited} RATE_LIMITED; countyStats p50 {p50:.0f} / p99 {p99:.0f} ms")
    if not limited:
        out.failures.append("no per-address login limit")
    if p99 > REFUSAL_MS:
        out.failures.append("countyStats slowed")
    return out


# ------------------------------------------------------------------------------------------
# 7. Unclean inputs


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def forge_token(sub: str, secret: str) -> str:
    """An HS256 JWT with the claims Luling checks, signed with `secret`."""

    def part(value: bytes) -> bytes:
        return base64.urlsafe_b64encode(value).rstrip(b"=")

    now = int(time.time())
    claims = {"sub": sub, "role": "admin", "iat": now, "exp": now + 600, "iss": "luling"}
    signed = part(b'{"alg":"HS256","typ":"JWT"}') + b"." + part(json.dumps(claims).encode())
    return (
        signed + b"." + part(hmac.new(secret.encode(), signed, hashlib.sha256).digest())
    ).decode()


NODE = "query($id: ID!){ node(id: $id){ id } }"
HUGE_ID = b64("Need:9999999999999999999999999")
simple("overflow node id (anonymous)", lambda t: {"query": NODE, "variables": {"id": HUGE_ID}})
simple(
    "overflow node id (admin)",
    lambda t: {"query": NODE, "variables": {"id": HUGE_ID}, "token": t.token("admin")},
)
simple("body of bytes ff fe", lambda t: {"body": b"\xff\xfe"})
simple(
    "token sub of 30 digits, unknown secret",
    lambda t: {"query": STATS, "token": forge_token("1" * 30, secrets.token_hex(16))},
)


def signed_huge_sub(t: Target) -> dict[str, Any]:
    if t.secret is None:
        raise Skip("the server's secret is unknown")
    return {"query": STATS, "token": forge_token("1" * 30, t.secret)}


simple("token sub of 30 digits, real secret", signed_huge_sub)
SURROGATE = b'{"query":%s,"variables":{"u":"\\ud800","p":"x"}}' % json.dumps(LOGIN).encode()
simple("lone surrogate in a variable", lambda t: {"body": SURROGATE})

# ------------------------------------------------------------------------------------------
# 8. Variants within the token limit


def inline_nest(levels: int = MAX_NESTING - 1) -> str:
    return "{" + "... on Query {" * levels + " __typename " + "}" * levels + "}"


simple(f"inline fragments {MAX_NESTING - 1} deep", lambda t: {"query": inline_nest()})
simple(
    "directive flood (560 @include)",
    lambda t: {"query": "{ skills { id " + "@include(if: true) " * 560 + "} }"},
)
OPERATIONS = " ".join(f"query Q{i} {{ skills {{ id }} }}" for i in range(MAX_TOKENS // 8 - 10))
simple("490 operations, operationName", lambda t: {"query": OPERATIONS, "operation": "Q489"})


def must_name_operation(out: Outcome) -> None:
    if any(s.kind == "answered" for s in out.shots):
        out.notes.append("ran one of them (the spec wants an error)")


simple("490 operations, no operationName", lambda t: {"query": OPERATIONS}, 1, must_name_operation)
simple("field duplication (3990 x id)", lambda t: {"query": "{ skills {" + " id" * 3990 + " } }"})
simple(
    "alias duplication (1320 x a:id)",
    lambda t: {"query": "{ skills {" + "".join(f" a{i}: id" for i in range(1320)) + " } }"},
)
NODES = "query($ids: [ID!]!){ nodes(ids: $ids){ id } }"
simple(
    "890 kB variables (47k ids)",
    lambda t: {"query": NODES, "variables": {"ids": [b64(f"Skill:{i}") for i in range(47_000)]}},
)
simple(
    "deeply nested list variable",
    lambda t: {
        "body": b'{"query":%s,"variables":{"ids":%s}}'
        % (json.dumps(NODES).encode(), b"[" * 400_000 + b"]" * 400_000)
    },
)
OF_TYPE = MAX_NESTING - 4  # __type, fields and type take a selection set each
simple(
    f"__type ofType chain ({OF_TYPE})",
    lambda t: {
        "query": '{ __type(name: "Need") { fields { type {'
        + " ofType {" * OF_TYPE
        + " name"
        + " }" * OF_TYPE
        + " } } } }"
    },
)
COST = (
    "{communities(first:100){nodes{openNeeds(first:100){nodes{community{members(first:100){"
    "nodes{registeredCommunity{openNeeds(first:100){nodes{id}}}}}}}}}}}"
)
simple("first:100 nested to depth 11 (admin)", lambda t: {"query": COST, "token": t.token("admin")})
