"""Builds the demo accounts, one per role, in the reference county only."""

from __future__ import annotations

from datetime import timedelta

from seed.figures import QUANTANG
from seed.reference.draws import DEMO_ACCOUNTS, demo_password_hash
from seed.reference.teams import _TeamsBuilder


class _AccountsBuilder(_TeamsBuilder):
    """The demo accounts, one per role (copy 0 only)."""

    # ---- demo accounts (copy 0 only)
    def build_accounts(self) -> None:
        self.account_ids: dict[str, int] = {}
        if self.copy != 0:
            return
        q = self.quantang
        q_grid = self.grids_by_community[q["id"]][0]
        links: dict[str, tuple[int | None, int | None, str]] = {
            "demo-resident": (self.resident["id"], None, self.resident["name"]),
            "demo-volunteer": (
                self.members_by_community[q["id"]][0],
                None,
                self.person_names[self.members_by_community[q["id"]][0]],
            ),
            "demo-gridworker": (q_grid.full_time, q["id"], self.person_names[q_grid.full_time]),
            "demo-coordinator": (None, q["id"], f"{QUANTANG}协调员"),
            "demo-helper": (self.helpers[0]["id"], None, self.helpers[0]["name"]),
            "demo-admin": (None, None, "系统管理员"),
            "demo-business-office": (None, None, "县营商办"),
        }
        for username, role in DEMO_ACCOUNTS:
            if username in links:
                person_id, community_id, display = links[username]
                self._demo_account(username, role, display, person_id, community_id)

    def _demo_account(
        self,
        username: str,
        role: object,
        display: str,
        person_id: int | None,
        community_id: int | None,
        enterprise_id: int | None = None,
    ) -> None:
        row = self.add(
            "account",
            username=username,
            password_hash=self.password_hash or demo_password_hash(),
            role=role,
            display_name=display,
            person_id=person_id,
            community_id=community_id,
            enterprise_id=enterprise_id,
            is_active=True,
            created_at=self.now - timedelta(days=200),
        )
        self.account_ids[username] = row["id"]
