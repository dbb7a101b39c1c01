"""One county copy's state (seeded draws, ids, tables) and the plumbing every builder uses."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from faker import Faker

from seed import vocab
from seed.identity import birth_date, mobile_number, resident_id_number
from seed.reference.draws import _FIRST_NAMES, _LAST_NAMES, LOCAL_OFFSET, _pick
from seed.reference.tables import Row, _add, _Ids, _new_tables, _templates

# --------------------------------------------------------------------------- the generator


class _CountyBase:
    """One county copy's state and plumbing; the builders (one mixin per concern) add the rows."""

    def __init__(
        self, copy: int, *, seed: int, now: datetime, ids: _Ids, password_hash: str | None
    ) -> None:
        self.copy = copy
        self.now = now
        self.ids = ids
        self.password_hash = password_hash
        self.rng = random.Random(f"luling:{seed}:{copy}")
        self.fake = Faker("zh_CN")
        self.fake.seed_instance(seed * 1000 + copy)
        self.sfx = "" if copy == 0 else f"-{copy + 1}"
        self.code_prefix = "JA" if copy == 0 else f"JA{copy + 1}"
        self.t = _new_tables()
        self.today = (now + LOCAL_OFFSET).date()
        self._phones: set[str] = set()
        self._id_seq = 0
        self.skill_ids = {code: i + 1 for i, (code, _) in enumerate(vocab.SKILLS)}
        self.name_pool = [self.fake.name() for _ in range(2000)]

    # ---- plumbing
    def name(self) -> str:
        """A Chinese name from Faker's zh_CN lists (surnames by frequency), drawn fast."""
        return _LAST_NAMES.pick(self.rng) + _pick(self.rng, _FIRST_NAMES)

    def add(self, table: str, **values: Any) -> Row:
        if "id" in _templates()[table].required and "id" not in values:
            values["id"] = self.ids.next(table)
        return _add(self.t, table, values)

    def phone(self) -> str:
        while True:
            p = mobile_number(self.rng)
            if p not in self._phones:
                self._phones.add(p)
                return p

    def id_number(self, min_age: int = 22, max_age: int = 60) -> str:
        self._id_seq += 1
        born = birth_date(self.rng, today=self.today, min_age=min_age, max_age=max_age)
        return resident_id_number(self.rng, born=born, sequence=self._id_seq)

    def ago(self, lo_days: float, hi_days: float) -> datetime:
        return self.now - timedelta(
            seconds=self.rng.randint(int(lo_days * 86400), int(hi_days * 86400))
        )
