"""A request's reads share one connection (`api.database.Database.request_scope`). When a
field fails and graphql-core answers before sibling fields finish, the request must still end
cleanly: its connection is returned only once the reads in flight are done, and a late read
never finds it closed (that was an HTTP 500)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.conftest import gql
from tests.county import County

pytestmark = pytest.mark.county("needs")

QUERY = """query($c: ID!) {
  community(id: $c) {
    openNeeds(first: 2) { totalCount nodes { title } }
    members(first: 2) { totalCount }
  }
}"""


def test_a_refused_field_beside_a_page_answers_cleanly(client: TestClient, county: County) -> None:
    for _ in range(5):
        body = gql(
            client,
            QUERY,
            {"c": county.gid("Community", "quantang")},
            token=county.token("resident"),
            expect_errors=True,
        )
        codes = {e["extensions"]["code"] for e in body["errors"]}
        assert codes == {"FORBIDDEN"}, body
