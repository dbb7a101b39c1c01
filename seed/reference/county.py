"""One county copy, put together from the builders in foreign-key order."""

from __future__ import annotations

from seed import vocab
from seed.reference.activities import _ActivitiesBuilder
from seed.reference.tables import Tables


class _County(_ActivitiesBuilder):
    """One county copy. Copy 0 is the reference county. The builders form one chain, each
    after those whose rows it uses (areas → people → teams → accounts → enterprises → needs →
    backlog → activities), so every attribute a builder reads is declared before it."""

    # ---- build order
    def build(self) -> Tables:
        if self.copy == 0:
            for code, name in vocab.SKILLS:
                row = self.add("skill", code=code, name=name)
                assert row["id"] == self.skill_ids[code]
        self.build_areas()
        self.build_units()
        self.build_compounds()
        self.build_grids()
        self.build_pairings()
        self.build_people()
        self.build_teams()
        self.build_venues()
        self.build_resources()
        self.build_accounts()
        self.build_consultations()
        self.build_enterprises()
        self.build_enterprise_account()
        self.build_needs()
        self.build_activities()
        self.build_organisers()
        return self.t
