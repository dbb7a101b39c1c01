"""Strawberry's graphql-transport-ws handler with Luling's rules for a socket.

- At most `websocket_max_per_address` open sockets per client address (across API processes
  when Redis is set: api/slots.py); more are closed at once
  with 4429. `connection_init` must come within `websocket_init_timeout_seconds` (else 4408,
  Strawberry's timeout) and may be anonymous (acknowledged, see below) or carry a token; a bad
  token closes the socket with 4403. At most `websocket_max_per_account` signed-in sockets per
  account; more are closed with 4429 instead of being acknowledged.
- At most `websocket_max_subscriptions` operations at once per socket: a further `subscribe` is
  answered with an `error` message, code RATE_LIMITED (the socket stays open).
- An anonymous socket runs no mutation (`login` included: log in over HTTP) and no
  subscription that is not public (every root field guarded by `Can` with a PUBLIC operation;
  none is yet): `error` message, code UNAUTHENTICATED. Its queries are checked by `Can` as
  anonymous HTTP requests are. Anonymous `connection_init` is still acknowledged: public data
  (statistics, volunteer opportunities) may be read without an account, and public
  subscriptions may come; an idle or anonymous socket costs little within the address limit
  and the init timeout.
- A signed-in socket re-reads its account before every operation it starts (as HTTP does on
  every request), and its rights are withdrawn as `api.ws.sessions` describes: the socket is
  closed (4401 or 4403) after its operations are stopped, and no event goes out once the rights
  are gone (checked before every `next` message).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from graphql import GraphQLSchema, OperationType, get_operation_ast, parse
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    Message,
    SubscribeMessage,
)
from strawberry.types.unset import UnsetType

from api.auth.audit import root_fields
from api.auth.permissions import operation_of
from api.auth.policy import PUBLIC
from api.graphql.context import Context
from api.graphql.errors import CodedError, ErrorCode
from api.logs import log
from api.ws.sessions import TOO_MANY_SOCKETS, LiveSocket, SocketRegistry

if TYPE_CHECKING:
    from api.settings import Settings


def anonymous_refusal(
    schema: GraphQLSchema, query: Any, operation_name: Any, max_tokens: int
) -> str | None:
    """Why an anonymous socket may not run this operation, or None. Mutations never; a
    subscription only when every root field is public (`Can` with a PUBLIC operation), so that
    a subscription added without a rule is refused (fail closed). Documents that cannot be
    parsed or are ambiguous are left to Strawberry, which refuses them with its own error."""
    if not isinstance(query, str):
        return None
    try:
        document = parse(query, max_tokens=max_tokens)
    except Exception:
        return None
    name = operation_name if isinstance(operation_name, str) else None
    operation = get_operation_ast(document, name)
    if operation is None:
        return None
    if operation.operation is OperationType.MUTATION:
        return "mutations need a signed-in socket (log in over HTTP)"
    if operation.operation is OperationType.SUBSCRIPTION and schema.subscription_type:
        fields = schema.subscription_type.fields
        for node in root_fields(document, operation):
            field = fields.get(node.name.value)
            if field is None:
                continue  # a validation error
            definition = field.extensions.get("strawberry-definition")
            permissions = getattr(definition, "permission_classes", None) or ()
            if not any(operation_of(p) in PUBLIC for p in permissions):
                return f"{node.name.value} needs a signed-in socket"
    return None


class LulingTransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    context: Context

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.live = LiveSocket(self.context.client_ip, self._revoked)
        self._closing: asyncio.Task[None] | None = None

    @property
    def registry(self) -> SocketRegistry:
        return self.view.sockets  # type: ignore[attr-defined]  # our GraphQL view (api/app.py) sets it

    @property
    def settings(self) -> Settings:
        return self.context.settings

    async def handle(self) -> None:
        refusal = await self.registry.open(self.live)
        if refusal is not None:
            await self.websocket.close(code=TOO_MANY_SOCKETS, reason=refusal)
            return
        try:
            await super().handle()
        except RecursionError:  # JSON nested too deeply to decode: a protocol error
            with contextlib.suppress(Exception):
                await self.websocket.close(code=4400, reason="Invalid message")
        finally:
            await self.registry.close(self.live)
            if self._closing is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._closing

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        # Strawberry's, with the per-account limit and the account watch placed between the
        # authentication (the view's `on_ws_connect`) and the acknowledgement.
        if self.connection_timed_out:
            return
        if self.connection_init_timeout_task:
            self.connection_init_timeout_task.cancel()
        payload = message.get("payload") or {}  # the protocol allows none, or null
        if not isinstance(payload, dict):
            await self.websocket.close(code=4400, reason="Invalid connection init payload")
            return
        if self.connection_init_received:
            await self.websocket.close(code=4429, reason="Too many initialisation requests")
            return
        self.connection_init_received = True
        self.context.connection_params = payload
        try:
            ack_payload = await self.view.on_ws_connect(self.context)
        except ConnectionRejectionError:
            await self.websocket.close(code=4403, reason="Forbidden")
            return
        account = self.context.account
        if account is not None:
            refusal = await self.registry.sign_in(self.live, account, self.context.token_expires_at)
            if refusal is not None:
                await self.websocket.close(code=TOO_MANY_SOCKETS, reason=refusal)
                return
        if isinstance(ack_payload, UnsetType) or ack_payload is None:
            await self.send_message({"type": "connection_ack"})
        else:
            await self.send_message({"type": "connection_ack", "payload": ack_payload})
        self.connection_acknowledged = True

    async def handle_message(self, message: Message) -> None:
        # The protocol's messages are JSON objects; anything else (a list, a number) is refused
        # as Strawberry refuses malformed objects: close 4400.
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            await self.handle_invalid_message("Failed to parse message")
            return
        if message["type"] == "subscribe":
            payload = message.get("payload")
            if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
                await self.handle_invalid_message("Failed to parse message")
                return
            if payload.get("operationName") == "":  # as over HTTP: no name given
                message = {**message, "payload": {**payload, "operationName": None}}
        await super().handle_message(message)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if self.live.revoked is not None:
            return  # closing
        limit = self.settings.websocket_max_subscriptions
        if (
            self.connection_acknowledged
            and message["id"] not in self.operations
            and len(self.operations) >= limit
        ):
            error = CodedError(
                f"at most {limit} operations at once on one socket", ErrorCode.RATE_LIMITED
            )
            await self.send_message(
                {"id": message["id"], "type": "error", "payload": [error.formatted]}
            )
            return
        await super().handle_subscribe(message)

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        live = self.live
        if live.account_id is not None:
            try:
                await self.registry.recheck([live.account_id])
            except Exception as exc:
                log.error("account re-check failed", account_id=live.account_id, error=str(exc))
                error = CodedError("could not check the caller", ErrorCode.INTERNAL)
                await operation.send_initial_errors([error])
                return
        else:
            try:
                refusal = anonymous_refusal(
                    self.schema._schema,  # type: ignore[attr-defined]  # the graphql-core schema behind Strawberry's
                    operation.query,
                    operation.operation_name,
                    self.settings.max_tokens,
                )
            except Exception as exc:  # never leave the client waiting on an operation
                log.error("anonymous operation check failed", error=str(exc))
                refusal = "the operation could not be checked"
            if refusal is not None:
                error = CodedError(refusal, ErrorCode.UNAUTHENTICATED)
                await operation.send_initial_errors([error])
                return
        if live.revoked is not None:
            return
        await super().run_operation(operation)

    async def send_message(self, message: Message) -> None:
        if message["type"] == "next" and not await self.live.may_send():
            return
        if self.live.revoked is not None:
            return  # closing: nothing more goes out
        await super().send_message(message)

    def _revoked(self, code: int, reason: str) -> None:
        if self._closing is None:
            self._closing = asyncio.get_running_loop().create_task(self._close(code, reason))

    async def _close(self, code: int, reason: str) -> None:
        # Stop the operations first, so that nothing is sent after the close.
        for operation_id in list(self.operations):
            await self.cleanup_operation(operation_id)
        with contextlib.suppress(Exception):
            await self.websocket.close(code=code, reason=reason)
