"""Codes of the errors graphql-core and Strawberry raise without one: each mapping the code
makes from a library's exception or message has a test here that fails if it breaks."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from cross_web import HTTPException
from graphql import GraphQLError, GraphQLSchema, build_schema, parse, validate
from graphql.execution import execute
from starlette.testclient import TestClient
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from api.graphql.http import CodedHTTPException, http_error
from api.graphql.protection import request_error_code
from tests.conftest import gql

SDL: GraphQLSchema = build_schema("type Query { hello(n: Int!): String }")


def _syntax_error(source: str, **kw: int) -> GraphQLError:
    with pytest.raises(GraphQLError) as caught:
        parse(source, **kw)
    return caught.value


def test_a_syntax_error_is_a_parse_failure() -> None:
    assert request_error_code(_syntax_error("{ hello(")) == "GRAPHQL_PARSE_FAILED"


def test_the_token_limit_is_its_own_code() -> None:
    error = _syntax_error("{ a b c d e f }", max_tokens=3)
    assert request_error_code(error) == "TOO_MANY_TOKENS"


def test_a_validation_error_is_a_validation_failure() -> None:
    (error,) = validate(SDL, parse("{ nope }"))
    assert request_error_code(error) == "GRAPHQL_VALIDATION_FAILED"


def test_a_variable_that_does_not_fit_is_bad_user_input() -> None:
    document = parse("query($n: Int!) { hello(n: $n) }")
    result = execute(SDL, document, variable_values={"n": "three"})
    assert result.errors is not None
    assert [request_error_code(e) for e in result.errors] == ["BAD_USER_INPUT"]


def test_an_unused_variable_fails_validation_over_http(
    client: TestClient, engine: sa.Engine
) -> None:
    # Its message starts like a variable error's, but validation raised it.
    body = gql(client, "query($x: Int) { __typename }", expect_errors=True)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["GRAPHQL_VALIDATION_FAILED"]


def _caused(exc: HTTPException, cause: BaseException) -> HTTPException:
    exc.__cause__ = cause
    return exc


@pytest.mark.parametrize(
    ("exc", "method", "expected"),
    [
        (CodedHTTPException(400, "expected a JSON object", "BAD_REQUEST_BODY"), "POST",
         (400, "BAD_REQUEST_BODY")),
        (_caused(HTTPException(400, "mutations are not allowed when using GET"),
                 InvalidOperationTypeError(OperationType.MUTATION)), "GET",
         (405, "METHOD_NOT_ALLOWED")),
        (_caused(HTTPException(400, "subscriptions are not allowed"),
                 InvalidOperationTypeError(OperationType.SUBSCRIPTION)), "POST",
         (400, "BAD_REQUEST")),
        (_caused(HTTPException(400, "No GraphQL query found in the request"),
                 MissingQueryError()), "POST", (400, "BAD_REQUEST_QUERY")),
        (HTTPException(400, "Unable to parse request body as JSON"), "POST",
         (400, "BAD_REQUEST_BODY")),
        (HTTPException(400, "The GraphQL operation's `query` must be a string or null, "
                            "if provided."), "POST", (400, "BAD_REQUEST_QUERY")),
        (HTTPException(405, "GraphQL only supports GET and POST requests."), "PUT",
         (405, "METHOD_NOT_ALLOWED")),
        (HTTPException(400, "Unsupported content type"), "POST", (400, "BAD_REQUEST")),
    ],
)  # fmt: skip
def test_http_refusals_get_their_codes(
    exc: HTTPException, method: str, expected: tuple[int, str]
) -> None:
    assert http_error(exc, method) == expected
