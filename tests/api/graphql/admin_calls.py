"""Sending the administration mutations (units, resources, consultations, sentinel posts) and
reading their payloads: `call(client, "addResource", {...}, token)`."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from starlette.testclient import TestClient

from api.app import create_app
from tests.conftest import gql, make_settings

UNIT = "id name kind address version hasPartyOrg isStateOwned communities { id name }"
RESOURCE = """id name kind quantity unitLabel isAvailable availableFrom availableUntil retiredAt
  version unit { id } community { id }"""
CONSULTATION = """id topic heldAt participants disputesSettled outcome concludedAt version
  community { id } parties { name role person { id } unit { id } }
  sessions { heldAt place attendees minutes } settledDisputes { summary settledAt }"""
POST = "id name address isActive version community { id } keeper { id name }"

# mutation -> (input type, payload field, selection)
MUTATIONS: dict[str, tuple[str, str, str]] = {
    "createPairedUnit": ("CreatePairedUnitInput", "unit", UNIT),
    "updatePairedUnit": ("UpdatePairedUnitInput", "unit", UNIT),
    "pairUnit": ("PairingInput", "unit", UNIT),
    "unpairUnit": ("PairingInput", "unit", UNIT),
    "addResource": ("AddResourceInput", "resource", RESOURCE),
    "updateResource": ("UpdateResourceInput", "resource", RESOURCE),
    "retireResource": ("RetireResourceInput", "resource", RESOURCE),
    "createConsultation": ("CreateConsultationInput", "consultation", CONSULTATION),
    "recordConsultationSession": ("RecordConsultationSessionInput", "consultation", CONSULTATION),
    "recordConsultationOutcome": ("RecordConsultationOutcomeInput", "consultation", CONSULTATION),
    "settleDisputes": ("SettleDisputesInput", "consultation", CONSULTATION),
    "createNeedsFromConsultation": (
        "CreateNeedsFromConsultationInput",
        "needs",
        "id title source status category community { id } consultation { id }",
    ),
    "createSentinelPost": ("CreateSentinelPostInput", "post", POST),
    "updateSentinelPost": ("UpdateSentinelPostInput", "post", POST),
    "submitSentinelSuggestion": (
        "SubmitSentinelSuggestionInput",
        "need",
        "id title source status community { id } sentinelPost { id name }",
    ),
}


def document(name: str) -> str:
    input_type, field, selection = MUTATIONS[name]
    return (
        f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ "
        f"{field} {{ {selection} }} userErrors {{ field message code }} }} }}"
    )


def call(client: TestClient, name: str, input: dict[str, Any], token: str) -> dict[str, Any]:
    """The mutation's payload (fails on top-level errors)."""
    return gql(client, document(name), {"input": input}, token=token)["data"][name]


def at_once(database_url: str, calls: list[Callable[[TestClient], dict[str, Any]]]) -> list[Any]:
    """Runs each call from its own app instance (as separate API processes would), released
    together; their payloads in order."""
    results: list[Any] = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(i: int) -> None:
        with TestClient(create_app(make_settings(database_url))) as c:
            barrier.wait()
            results[i] = calls[i](c)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    return results
