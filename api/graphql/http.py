"""GraphQL over HTTP (graphql/graphql-over-http, "Stage 2" draft) on top of Strawberry's view.

- GET serves queries (never mutations); POST serves everything.
- Content negotiation: `application/graphql-response+json` is answered when the Accept header
  prefers it over `application/json`; otherwise (no Accept, `*/*`, `application/json`) the answer
  is `application/json`, as legacy clients expect.
- Status codes: with `application/graphql-response+json`, a request that cannot be parsed, fails
  validation (including the depth, alias and token limits) or whose variables do not fit gets
  400 and no `data` entry; an executed operation gets 200 even with field errors. With
  `application/json`, every well-formed request gets 200 (as the spec says for that type).
  A request that is not well-formed GraphQL-over-HTTP (body not UTF-8 JSON or not an object,
  `query` missing or not a string, mutation over GET …) gets 400 (405 for a mutation over GET)
  with a JSON body and a `code`, under either media type; so does an `operationName` that
  names no operation of the document (OPERATION_RESOLUTION_FAILURE).
- A well-formed POST (`Content-Type: application/json`, a JSON object whose `query` is a
  string) takes a short path (`fast_post_request`, `execute_post`, called from the view's
  `__call__` in api/app.py): the body is read and parsed once
  (orjson), the operation executed, and the answer sent as raw ASGI messages — no request
  adapter, sub-response or Response objects. Everything else (GET, other content types,
  batches, malformed bodies) goes through Strawberry's view and gets the same answers as
  before; both paths share how results and refusals are shaped.
- The GraphiQL page is our own (`api.console.graphiql_page`: its assets served by the app, under
  the console's Content-Security-Policy); every other response gets the strict one from the
  `HTTPGate` middleware (api/http_limits.py).
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLHTTPResponse, process_result
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET

from api.console import graphiql_page
from api.graphql.protection import add_codes, is_request_error
from api.graphql.text_input import OPERATION_RESOLUTION_FAILURE
from api.inputs import excerpt

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
APPLICATION_JSON = "application/json"


def _accepted(accept: str) -> dict[str, float]:
    """Media types of an Accept header with their q values."""
    out: dict[str, float] = {}
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if not media:
            continue
        q = 1.0
        for p in params:
            if p.startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        out[media.lower()] = max(q, out.get(media.lower(), 0.0))
    return out


def wants_graphql_response(accept: str | None) -> bool:
    """Whether to answer `application/graphql-response+json` (else `application/json`);
    remembered per Accept value of ordinary length (clients send a handful)."""
    if not accept:
        return False
    if len(accept) <= _MAX_REMEMBERED_ACCEPT:
        return _wants_graphql_response(accept)
    return _negotiate(accept)


_MAX_REMEMBERED_ACCEPT = 256


@lru_cache(maxsize=256)
def _wants_graphql_response(accept: str) -> bool:
    return _negotiate(accept)


def _negotiate(accept: str) -> bool:
    accepted = _accepted(accept)
    q_gql = accepted.get(GRAPHQL_RESPONSE_JSON, 0.0)
    return q_gql > 0 and q_gql >= accepted.get(APPLICATION_JSON, 0.0)


class CodedHTTPException(HTTPException):
    """A refusal of ours, raised with its code."""

    def __init__(self, status_code: int, reason: str, code: str) -> None:
        super().__init__(status_code, reason)
        self.code = code


# Strawberry's own refusals come without a code; where no exception of its own says why
# (`http_error`), the start of the message does.
_STRAWBERRY_REASONS = (
    ("Unable to parse request body as JSON", "BAD_REQUEST_BODY"),
    ("The GraphQL operation's `query` must be", "BAD_REQUEST_QUERY"),
)


def _strawberry_error_code(status: int, reason: str) -> str:
    if status == 405:
        return "METHOD_NOT_ALLOWED"
    for start, code in _STRAWBERRY_REASONS:
        if reason.startswith(start):
            return code
    return "BAD_REQUEST"


def http_error(exc: HTTPException, method: str) -> tuple[int, str]:
    """(status, code) of a request that is not well-formed GraphQL-over-HTTP."""
    cause = exc.__cause__
    if isinstance(exc, CodedHTTPException):
        return exc.status_code, exc.code
    if isinstance(cause, InvalidOperationTypeError) and method == "GET":  # a mutation over GET
        return 405, "METHOD_NOT_ALLOWED"
    if isinstance(cause, MissingQueryError):
        return 400, "BAD_REQUEST_QUERY"
    if isinstance(cause, CannotGetOperationTypeError):  # operationName names none
        return 400, OPERATION_RESOLUTION_FAILURE
    return exc.status_code, _strawberry_error_code(exc.status_code, exc.reason)


def _retry_after(result: ExecutionResult) -> int | None:
    """Seconds to wait when the request was refused, before execution, for its rate."""
    errors = result.errors or []
    if result.data is not None or not errors:
        return None
    codes = {(e.extensions or {}).get("code") for e in errors}
    if codes != {"RATE_LIMITED"} or any(e.path is not None for e in errors):
        return None
    return max(int((e.extensions or {}).get("retryAfter") or 1) for e in errors)


_MAX_REASON = 200


def _safe_reason(reason: str) -> str:
    """A refusal's reason as sent: short, and encodable (Strawberry quotes operation names)."""
    short = reason if len(reason) <= _MAX_REASON else reason[:_MAX_REASON] + "…"
    return short.encode("utf-8", "backslashreplace").decode("utf-8")


def encode_response(data: object) -> bytes:
    """A response body: orjson, compact, UTF-8 as is (no \\u escapes); what orjson refuses
    (an integer past 64 bits inside a JSON scalar) goes through the standard encoder."""
    try:
        return orjson.dumps(data)
    except TypeError:
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


_POST_OPERATIONS = frozenset(OperationType.from_http("POST"))
_JSON_TYPES = frozenset({b"application/json", b"application/json; charset=utf-8"})
_JSON = APPLICATION_JSON.encode()
_GRAPHQL_JSON = f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8".encode()


def shape_result(
    result: ExecutionResult, accept: str | None
) -> tuple[GraphQLHTTPResponse, int, bool, int | None]:
    """(body, status, whether the media type is graphql-response+json, Retry-After seconds)
    of an executed (or refused before execution) operation."""
    add_codes(result.errors)  # parse errors can bypass the schema extension's hooks
    data = process_result(result)
    status = 200
    graphql_response = wants_graphql_response(accept)
    if graphql_response:
        errors = result.errors or []
        if result.data is None and errors and all(is_request_error(e) for e in errors):
            data.pop("data", None)  # a request error: no execution, so no data entry
            status = 400
    retry = _retry_after(result)
    if retry is not None:
        status = 429  # over the cost budget: 429 with Retry-After, whatever the media type
    return data, status, graphql_response, retry


def refusal(exc: HTTPException, method: str, accept: str | None) -> Response:
    """The answer to a request that is not well-formed GraphQL-over-HTTP."""
    reason = _safe_reason(exc.reason)
    status, code = http_error(exc, method)
    unresolved = exc.__cause__
    if isinstance(unresolved, CannotGetOperationTypeError):
        name = unresolved.operation_name
        code = OPERATION_RESOLUTION_FAILURE
        reason = (
            "the document contains no operation"
            if name is None
            else f"Unknown operation named '{excerpt(name)}'."
        )
    body = {"errors": [{"message": reason, "extensions": {"code": code}}]}
    media = GRAPHQL_RESPONSE_JSON if wants_graphql_response(accept) else APPLICATION_JSON
    headers = {"Allow": "POST"} if status == 405 else None
    return Response(
        json.dumps(body, ensure_ascii=False), status_code=status, media_type=media, headers=headers
    )


def _loads(data: bytes) -> Any:
    """A body as JSON the fast way; None where orjson refuses it (a BOM, NaN, a lone
    surrogate, an integer past 64 bits, bad UTF-8 …): `parse_json` then decides, as ever."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None


async def read_body(request: Request, receive: Receive) -> bytes:
    """The whole request body, kept on `request` so that later readers get it again."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    request._body = body  # Starlette's own cache: request.body() returns it
    return body


class GraphQLOverHTTP:
    """Mixin for Strawberry's ASGI `GraphQL` view (list it first among the bases)."""

    def parse_json(self, data: str | bytes) -> Any:
        """A request body (or GET `variables`) as JSON: UTF-8 only (RFC 8259; a BOM is
        tolerated), an object or a batch list; anything else is a 400 BAD_REQUEST_BODY."""
        if isinstance(data, bytes):
            try:
                data = data.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise CodedHTTPException(
                    400, "the request body is not UTF-8 JSON", "BAD_REQUEST_BODY"
                ) from None
        try:
            value = json.loads(data)
        except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
            raise CodedHTTPException(
                400, "Unable to parse request body as JSON", "BAD_REQUEST_BODY"
            ) from None
        if not isinstance(value, (dict, list)):
            raise CodedHTTPException(400, "expected a JSON object", "BAD_REQUEST_BODY")
        return value

    async def render_graphql_ide(self, request: Any) -> Response:
        return graphiql_page()

    @staticmethod
    def fast_post_headers(scope: Scope) -> tuple[bool, str | None]:
        """(whether the short path serves this POST: a JSON body, its Accept value)."""
        content_type = accept = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                if content_type is None:
                    content_type = value
            elif name == b"accept" and accept is None:
                accept = value.decode("latin-1")
        return content_type is not None and content_type.lower() in _JSON_TYPES, accept

    async def fast_post_request(self, request: Request, receive: Receive) -> dict[str, Any] | None:
        """The body of a POST as a GraphQL request object, when it is a well-formed one
        (an object; `query` a string; `variables` and `extensions` objects or null); None
        otherwise (the body stays on `request` for Strawberry's view to refuse as ever)."""
        data = _loads(await read_body(request, receive))
        if (
            type(data) is not dict
            or type(data.get("query")) is not str
            or not isinstance(data.get("variables"), (dict, type(None)))
            or not isinstance(data.get("extensions"), (dict, type(None)))
        ):
            return None
        return data

    async def execute_post(
        self, request: Request, data: dict[str, Any], context: Any, accept: str | None
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes] | Response:
        """Execute a well-formed POST: (status, headers, body) to send, or the refusal."""
        try:
            result = await self.schema.execute(  # type: ignore[attr-defined]  # a mixin: the view has its schema
                data["query"],
                variable_values=data.get("variables"),
                context_value=context,
                operation_name=data.get("operationName"),
                allowed_operation_types=_POST_OPERATIONS,
                operation_extensions=data.get("extensions"),
            )
        except CannotGetOperationTypeError as e:
            return refusal(_cause(HTTPException(400, e.as_http_error_reason()), e), "POST", accept)
        except InvalidOperationTypeError as e:
            reason = e.as_http_error_reason("POST")
            return refusal(_cause(HTTPException(400, reason), e), "POST", accept)
        except MissingQueryError as e:
            reason = "No GraphQL query found in the request"
            return refusal(_cause(HTTPException(400, reason), e), "POST", accept)
        body, status, graphql_response, retry = shape_result(result, accept)
        encoded = encode_response(body)
        headers = [
            (b"content-length", str(len(encoded)).encode()),
            (b"content-type", _GRAPHQL_JSON if graphql_response else _JSON),
        ]
        if retry is not None:
            headers.append((b"retry-after", str(retry).encode()))
        return status, headers, encoded

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        try:
            return await super().run(request, context, root_value)  # type: ignore[misc]  # a mixin: the view class it joins has run()
        except HTTPException as exc:
            if not isinstance(request, Request):
                raise
            return refusal(exc, request.method, request.headers.get("accept"))

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        accept = request.headers.get("accept") if isinstance(request, Request) else None
        data, status, graphql_response, retry = shape_result(result, accept)
        if isinstance(request, Request):
            request.state.graphql_status = status
            request.state.graphql_response = graphql_response
            request.state.retry_after = retry
        return data

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        # As Strawberry's ASGI view does, but encoded with orjson (WebSocket messages keep
        # Strawberry's encoder: they must stay text frames).
        response = Response(encode_response(response_data), media_type=APPLICATION_JSON)
        response.headers.raw.extend(sub_response.headers.raw)
        if sub_response.background:
            response.background = sub_response.background
        if sub_response.status_code:
            response.status_code = sub_response.status_code
        request: Request | None = getattr(sub_response, "_luling_request", None)
        if request is None:
            return response
        if getattr(request.state, "graphql_response", False):
            response.headers["content-type"] = f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
        status = getattr(request.state, "graphql_status", 200)
        if status != 200:
            response.status_code = status
        retry = getattr(request.state, "retry_after", None)
        if retry is not None:
            response.headers["retry-after"] = str(retry)
        return response

    async def get_sub_response(self, request: Any) -> Response:
        sub: Response = await super().get_sub_response(request)  # type: ignore[misc]  # a mixin: the view class it joins has it
        sub._luling_request = request  # type: ignore[attr-defined]  # our own marker on Starlette's Response
        return sub


def _cause(exc: HTTPException, cause: Exception) -> HTTPException:
    exc.__cause__ = cause
    return exc
