"""Re-runs and what a job records: kept resource decisions, a superseded parent that cannot be
committed, the mode and weights it ran with, and each kind's own figures."""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa
from sqlmodel import col
from starlette.testclient import TestClient

from matching.problem import Weights
from schema.enums import AreaMode
from schema.models import Community
from tests.api.graphql.matching.test_jobs import COMMIT, World, _lend_a_hall, decide, run, world
from tests.conftest import gql

__all__ = ["world"]

FIGURES = """query($id: ID!) { matchingJob(id: $id) { status emergency weights
  seatsFilled seatsTotal resourcesAllocated resourcesRequested helperTasksMatched
  helperTasksTotal unmatched { message } } }"""


def _figures(client: TestClient, world: World, job_id: str) -> dict:  # type: ignore[type-arg]
    return gql(client, FIGURES, {"id": job_id}, token=world.token())["data"]["matchingJob"]


def test_rerun_keeps_accepted_resource_and_supersedes_parent(
    client: TestClient, world: World
) -> None:
    _lend_a_hall(world)
    job = run(client, world)
    (hall,) = [p for p in job["proposals"]["nodes"] if p["kind"] == "RESOURCE"]
    decide(client, world, "acceptProposal", hall["id"])
    rerun = run(client, world, parentJobId=job["id"])
    (kept,) = [p for p in rerun["proposals"]["nodes"] if p["kind"] == "RESOURCE"]
    assert kept["status"] == "ACCEPTED" and kept["need"] == hall["need"]
    assert "kept in job" in kept["message"]
    figures = _figures(client, world, rerun["id"])
    assert (figures["resourcesAllocated"], figures["resourcesRequested"]) == (20, 20)

    parent = gql(client, COMMIT, {"id": job["id"]}, token=world.token())["data"]
    (error,) = parent["commitMatchingJob"]["userErrors"]
    assert "re-run as job" in error["message"] and error["field"] == ["jobId"]
    child = gql(client, COMMIT, {"id": rerun["id"]}, token=world.token())["data"]
    assert child["commitMatchingJob"]["userErrors"] == []
    assert kept["id"] in {p["id"] for p in child["commitMatchingJob"]["committed"]}


def test_job_records_the_mode_and_weights_it_ran_with(client: TestClient, world: World) -> None:
    with world.engine.begin() as conn:  # the county is in emergency mode; nobody asks for it
        conn.execute(
            sa.update(Community)
            .where(col(Community.id) == world.home.id)
            .values(mode=AreaMode.EMERGENCY)
        )
    job = run(client, world, weights={"fairness": 0})
    figures = _figures(client, world, job["id"])
    assert figures["emergency"] is True
    expected = {**dataclasses.asdict(Weights.emergency()), "fairness": 0.0}
    assert figures["weights"] == expected


def test_helper_only_job_reports_its_own_figures(client: TestClient, world: World) -> None:
    job = run(client, world, kinds=["HELPER"])
    figures = _figures(client, world, job["id"])
    assert figures["status"] == "SUCCEEDED"
    assert (figures["seatsFilled"], figures["seatsTotal"]) == (None, None)
    assert (figures["helperTasksMatched"], figures["helperTasksTotal"]) == (0, 0)
    assert figures["resourcesRequested"] is None
    assert figures["unmatched"] == []  # no needs reported with volunteer reasons
