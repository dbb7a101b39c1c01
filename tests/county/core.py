"""The `County` a test gets, and the small helpers its builders share."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, SQLModel

from api.graphql.relay import to_global_id
from schema import models as m
from tests import factories as f

NOW = datetime.now(UTC).replace(microsecond=0)
# Two places about 5.6 km apart: Quantang's centre and a village north-east of it.
A_LAT, A_LON = 27.05, 114.92
B_LAT, B_LON = 27.09, 114.96

M = TypeVar("M", bound=SQLModel)
R = TypeVar("R")


def add(session: Session, row: M) -> M:
    """Insert `row` now (its id is set), in the builder's one transaction."""
    session.add(row)
    session.flush()
    return row


@dataclass
class County:
    """The rows of a built county by name (`rows["need_open"]`), its accounts by who they are
    (`accounts["coordinator"]`), and bearer tokens for them. The base rows, which every test
    has, are also attributes."""

    engine: sa.Engine
    rows: dict[str, Any] = field(default_factory=dict)
    accounts: dict[str, m.Account] = field(default_factory=dict)
    _tokens: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def ids(self) -> dict[str, int]:
        return {name: row.id for name, row in self.rows.items()}

    def gid(self, type_name: str, name: str) -> str:
        """The global ID of the row called `name`, as the API spells it."""
        return to_global_id(type_name, self.rows[name].id)

    def account(self, who: str) -> m.Account:
        return self.accounts[who]

    def token(self, who: str) -> str:
        """A bearer token for the account `who` (see `accounts.py` for who is who)."""
        if who not in self._tokens:
            self._tokens[who] = f.token_for(self.accounts[who])
        return self._tokens[who]

    def _row(self, name: str, kind: type[R]) -> R:
        row = self.rows[name]
        assert isinstance(row, kind), (name, row)
        return row

    # The base rows (areas.py, people.py).
    @property
    def quantang(self) -> m.Community:
        """泉塘社区: the urban community the cast lives and works in."""
        return self._row("quantang", m.Community)

    @property
    def hengxi(self) -> m.Community:
        """横溪村: a village 5.6 km away, the outsider's area."""
        return self._row("hengxi", m.Community)

    @property
    def grid1(self) -> m.Grid:
        """QT-01, Quantang's first grid: where reports near Quantang's centre land."""
        return self._row("grid1", m.Grid)

    @property
    def volunteer(self) -> m.Person:
        """王建国: a party member of Quantang who volunteers (account `volunteer`)."""
        return self._row("volunteer", m.Person)

    @property
    def worker(self) -> m.Person:
        """李网格: QT-01's grid worker (its leader; account `grid_worker`)."""
        return self._row("worker", m.Person)

    @property
    def helper(self) -> m.Person:
        """赵小赣: an enterprise helper who may carry two open requests (account `helper`)."""
        return self._row("helper", m.Person)
