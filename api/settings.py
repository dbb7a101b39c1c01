"""Settings from environment variables (and a `.env` file), validated by pydantic-settings."""

from __future__ import annotations

from datetime import time
from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from schema.db import DEFAULT_DATABASE_URL

DEFAULT_SECRET = "luling-development-secret-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LULING_", env_file=".env", extra="ignore", populate_by_name=True
    )

    # DATABASE_URL is the name every hosting platform sets, so it is read without the prefix.
    database_url: str = Field(default=DEFAULT_DATABASE_URL, validation_alias="DATABASE_URL")
    environment: Literal["development", "production"] = "development"
    # Connections each API process keeps open to PostgreSQL: a request holds one while it
    # runs (api/database.py), so size it to the requests a process serves at once; past it,
    # up to `db_max_overflow` more are opened and closed again. Pre-ping checks a connection
    # before each use (one more round trip per request; off: a connection the server dropped
    # fails one request). Prepared statements: off, so PgBouncer in transaction mode works.
    db_pool_size: int = 20
    db_max_overflow: int = 10
    db_pool_pre_ping: bool = False
    db_prepared_statements: bool = False
    secret_key: str = DEFAULT_SECRET
    token_ttl_minutes: int = 12 * 60
    # A signed-in request is authorised from its token; the account's token version (which a
    # password change or deactivation moves on) is re-read at most this often per process,
    # so a revoked token stops working within this many seconds. 0: read on every request.
    token_check_seconds: float = 5.0
    graphiql: bool | None = None  # None: on in development, off in production
    introspection: bool | None = None
    cors_origins: list[str] = ["http://localhost:5173", "http://127.0.0.1:5173"]
    websocket_origins: list[str] = []
    # Also the limit on every WebSocket message (larger ones close the socket with 1009).
    max_body_bytes: int = 1_000_000
    # Plain HTTP fairness (api/http_limits.py): requests in flight per client address (below
    # db_pool_size: each may hold a connection, and one address must not hold them all), and
    # how long each chunk of a request body may take to arrive.
    max_requests_per_address: int = 16
    body_timeout_seconds: float = 10.0
    # WebSockets (graphql-transport-ws at /graphql). The socket limits (and the requests in flight
    # per address above) are shared by every API process when Redis is configured (api/slots.py).
    # A socket that has not sent `connection_init` within this many seconds is closed (4408).
    websocket_init_timeout_seconds: float = 5.0
    websocket_max_per_account: int = 5  # open signed-in sockets per account (over: 4429)
    websocket_max_per_address: int = 20  # open sockets per client address (over: 4429)
    # Operations running at once on one socket (over: the new one gets RATE_LIMITED).
    websocket_max_subscriptions: int = 20
    # Signed-in sockets re-read their accounts this often, besides on every `account:<id>`
    # broadcast: a safety net for lost broadcasts and for `luling user deactivate` run
    # against a server whose broadcaster is memory:// (it cannot reach other processes).
    websocket_recheck_seconds: float = 60.0
    max_query_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 4_000
    max_query_bytes: int = 32_768  # the document's length, comments and whitespace included
    max_query_lines: int = 2_000
    # Query limits (api/graphql/cost.py): fields selected once fragments are expanded,
    # fragment definitions, directives in one place, and the cost of one query in points.
    max_query_selections: int = 1_000
    max_query_fragments: int = 100
    max_query_directives: int = 10
    max_same_field: int = 30  # one response key selected this often in one selection set
    max_query_operations: int = 50  # operation definitions in one document
    max_query_nesting: int = 30  # selection sets within selection sets, fragments included
    max_variable_values: int = 10_000  # values in a request's variables, nested ones included
    max_query_cost: int = 20_000
    max_subscription_cost: int = 1_000  # a subscription's selection runs again on every event
    # Cost points each caller may spend a minute (anonymous: per client address).
    cost_budget_per_minute: int = 1_000_000
    cost_budget_anonymous_per_minute: int = 200_000
    # GraphQL executor: "fast" (api/graphql/executor.py: plain fields of a page read without
    # graphql-core's per-field work) or "strawberry" (Strawberry's own, no fast path).
    executor: Literal["fast", "strawberry"] = "fast"
    # Garbage collection tuned for serving (api/app.py, at startup): what the process built
    # before serving (schema, modules) is frozen out of the collector's scans, and young
    # objects are collected less often. A request makes thousands of short-lived objects;
    # left at Python's defaults the collector took a quarter of a large page's CPU time.
    gc_tuning: bool = True
    log_level: str = "INFO"
    log_json: bool = True
    # On an empty database `luling serve` loads the reference county (development only).
    seed_on_empty: bool = True
    # The county's clock (api/clock.py): every N seconds finish activities, flag overdue
    # scheduled needs, fail matching jobs past their limit. 0 turns it off.
    clock_seconds: float = Field(default=60.0, ge=0)
    # Where matching jobs run: "process" (a thread of the API process that took the request;
    # the embedded default, SQLite or PostgreSQL) or "queue" (PostgreSQL only: the job is queued
    # with its row in one transaction and `luling worker` processes solve it; api/jobqueue.py).
    job_runner: Literal["process", "queue"] = "process"
    # `luling worker`: jobs solved at once per worker (the solver is CPU-bound: 1 per core),
    # how often it beats its heartbeat, after how long without one its jobs are failed (by any
    # worker's or API process's sweep, which runs every heartbeat), and how often it polls the
    # queue besides being woken by NOTIFY.
    worker_concurrency: int = Field(default=1, ge=1)
    worker_heartbeat_seconds: float = Field(default=10.0, gt=0)
    worker_stalled_seconds: float = Field(default=60.0, gt=0)
    worker_poll_seconds: float = Field(default=5.0, gt=0)
    # A worker's solving child runs this much nicer than normal (0–19): an API process on the
    # same cores keeps its latency while a job solves (bench/solve_p99.py); alone on its cores
    # the solve loses nothing.
    worker_nice: int = Field(default=10, ge=0, le=19)
    # A worker answers GET /healthz on this port (unset: no probe endpoint).
    worker_health_port: int | None = None
    worker_health_host: str = "127.0.0.1"
    # Notifications (api/notify/, README "Notifications (通知)"): the dispatcher runs every N
    # seconds in `luling serve` (0: off; `luling notifications dispatch` runs it on its own).
    notify_dispatch_seconds: float = Field(default=5.0, ge=0)
    notify_batch: int = Field(default=50, ge=1)  # deliveries one dispatcher claims per round
    notify_max_attempts: int = Field(default=5, ge=1)  # then a dead letter (and failover)
    notify_backoff_seconds: float = Field(default=30.0, gt=0)  # doubled after each failure
    notify_backoff_max_seconds: float = Field(default=3600.0, gt=0)
    notify_lease_seconds: float = Field(default=120.0, gt=0)  # a killed dispatcher's rows return
    # Quiet hours (免打扰, county local time): SMS and WeChat wait, unless urgent or emergency.
    notify_quiet_start: time = time(22, 0)
    notify_quiet_end: time = time(7, 0)
    notify_emergency_mode: bool = False
    notify_rate_limit: int = Field(default=10, ge=0)  # external messages per person per window
    notify_rate_window_seconds: float = Field(default=3600.0, gt=0)
    # E-mail over SMTP (off without a host).
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "luling@localhost"
    smtp_timeout_seconds: float = 10.0
    # SMS and WeChat template messages through the provider's HTTP JSON API (off without a
    # URL); templates map a notification kind (need_dispatched …) to the provider's template id.
    sms_api_url: str | None = None
    sms_api_key: str | None = None
    sms_sign_name: str = "庐陵善治"
    sms_templates: dict[str, str] = {}
    wechat_api_url: str | None = None
    wechat_api_key: str | None = None
    wechat_templates: dict[str, str] = {}
    provider_timeout_seconds: float = 10.0
    # memory:// (one process), redis://host:6379/0, or postgresql://… for several API processes.
    broadcast_url: str = "memory://"
    # One Redis for everything several processes share: the broadcaster (unless
    # LULING_BROADCAST_URL names another), rate limits and cost budgets (unless
    # LULING_RATE_LIMIT_URL does). Unset: each process keeps its own in memory.
    redis_url: str | None = None
    # Rate limit and budget keys start with this: deployments sharing one Redis keep apart.
    redis_key_prefix: str = "luling:"
    # Sockets and requests held at once, counted in Redis (api/slots.py): a process renews its
    # slots every third of this; a killed process's slots are free again within it.
    shared_slot_lease_seconds: float = Field(default=30.0, gt=0)
    # Rate limits: at most N attempts per window (seconds). Counts live in memory (one process)
    # or in Redis: LULING_RATE_LIMIT_URL, else the broadcast URL when it is a redis:// URL.
    login_rate_limit: int = 10  # per username and client IP
    login_rate_window_seconds: float = 300
    # Per client IP whatever the username (password spraying from one address).
    login_address_rate_limit: int = 30
    login_address_rate_window_seconds: float = 300
    # Per username whatever the address (one account guessed at from many addresses).
    login_username_rate_limit: int = 20
    login_username_rate_window_seconds: float = 300
    # Password hashes (argon2: 64 MiB and 4 threads for ~0.1 s each) running at once per
    # process, and requests allowed to wait for one; past that a login (or password change)
    # is refused at once with RATE_LIMITED, so a flood of logins cannot starve other requests.
    password_hash_concurrency: int = 1
    password_hash_waiting: int = 4
    report_rate_limit: int = 20  # reportNeed per caller
    report_rate_window_seconds: float = 3600
    rate_limit_url: str | None = None

    @property
    def broadcast_backend_url(self) -> str:
        """The broadcaster's URL: LULING_BROADCAST_URL, else LULING_REDIS_URL, else memory://."""
        if self.broadcast_url.lower().startswith("memory:") and self.redis_url:
            return self.redis_url
        return self.broadcast_url

    @property
    def shared_limits_url(self) -> str | None:
        """Where rate limits and cost budgets are shared (a redis:// URL), or None: in memory.
        LULING_RATE_LIMIT_URL decides when set (memory:// keeps them in memory), else
        LULING_REDIS_URL, else the broadcast URL when it is a redis:// one."""
        redis_schemes = ("redis://", "rediss://", "unix://")
        if self.rate_limit_url is not None:
            return self.rate_limit_url if self.rate_limit_url.startswith(redis_schemes) else None
        for url in (self.redis_url, self.broadcast_url):
            if url and url.startswith(redis_schemes):
                return url
        return None

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def graphiql_enabled(self) -> bool:
        return (not self.is_production) if self.graphiql is None else self.graphiql

    @property
    def introspection_enabled(self) -> bool:
        return (not self.is_production) if self.introspection is None else self.introspection


@lru_cache
def get_settings() -> Settings:
    return Settings()
