"""Builds the county's places: townships, communities, paired units, compounds, grids, pairings."""

from __future__ import annotations

from datetime import datetime, timedelta

from schema.enums import AreaKind, GridKind, UnitKind
from seed import vocab
from seed.figures import COUNTY_SEAT, HENGXI, REFERENCE, YANJINGFU
from seed.reference.base import _CountyBase
from seed.reference.draws import _allocate, _clamp, _near, _pick
from seed.reference.specs import _Grid
from seed.reference.tables import Row


class _AreasBuilder(_CountyBase):
    """Townships, communities, paired units, compounds, grids and pairings (结对共建)."""

    # ---- areas
    def build_areas(self) -> None:
        rng = self.rng
        centres: list[tuple[float, float]] = []
        for i, _ in enumerate(vocab.TOWNSHIPS):
            if i == 0:
                centres.append(_near(rng, 27.06, 114.92, 0.01))
                continue
            while True:
                lat, lon = rng.uniform(26.68, 27.32), rng.uniform(114.58, 115.22)
                if all(abs(lat - a) + abs(lon - b) > 0.12 for a, b in centres):
                    centres.append(_clamp(lat, lon))
                    break
        self.townships = [
            (name + self.sfx, lat, lon)
            for name, (lat, lon) in zip(vocab.TOWNSHIPS, centres, strict=True)
        ]
        town_at = {name: (lat, lon) for name, lat, lon in self.townships}
        created = self.now - timedelta(days=1000)

        self.urban: list[Row] = []
        self.urban_size: dict[int, int] = {}
        for name, town, size in vocab.URBAN_COMMUNITIES:
            tlat, tlon = town_at[town + self.sfx]
            lat, lon = _near(rng, tlat, tlon, 0.02 if town == COUNTY_SEAT else 0.008)
            row = self.add(
                "community",
                name=name + self.sfx,
                kind=AreaKind.URBAN_COMMUNITY,
                township=town + self.sfx,
                latitude=lat,
                longitude=lon,
                population=size * 1000 + rng.randint(0, 2000),
                created_at=created,
            )
            self.urban.append(row)
            self.urban_size[row["id"]] = size
        self.quantang = self.urban[0]

        per_town = _allocate(REFERENCE.villages, [0.93] + [1.0] * (len(self.townships) - 1))
        self.villages: list[Row] = []
        used: set[str] = set()
        for (town, tlat, tlon), n in zip(self.townships, per_town, strict=True):
            for j in range(n):
                if town == "永和镇" + self.sfx and j == 0:
                    base = HENGXI
                else:
                    while True:
                        base = (
                            _pick(rng, vocab.VILLAGE_FIRST)
                            + _pick(rng, vocab.VILLAGE_SECOND)
                            + "村"
                        )
                        if base not in used and base != HENGXI:
                            break
                used.add(base)
                lat, lon = _near(rng, tlat, tlon, 0.06)
                self.villages.append(
                    self.add(
                        "community",
                        name=base + self.sfx,
                        kind=AreaKind.VILLAGE,
                        township=town,
                        latitude=lat,
                        longitude=lon,
                        population=rng.randint(800, 3500),
                        created_at=created,
                    )
                )
        self.communities = self.urban + self.villages
        self.community_by_id = {c["id"]: c for c in self.communities}

    # ---- paired units
    def build_units(self) -> None:
        rng = self.rng
        seat = self.townships[0]
        roads = vocab.ROADS
        self.units: list[Row] = []

        def county(name: str) -> str:
            if name == "团县委":
                return "共青团吉安县委"
            return "吉安" + name if name.startswith("县") else name

        groups = (
            (UnitKind.GOVERNMENT, vocab.GOVERNMENT_UNITS),
            (UnitKind.INSTITUTION, vocab.INSTITUTIONS),
            (UnitKind.ENTERPRISE, vocab.ENTERPRISE_UNITS),
            (UnitKind.PROPERTY_COMPANY, vocab.PROPERTY_COMPANIES),
        )
        for kind, names in groups:
            for i, name in enumerate(names):
                full = county(name)
                at_seat = kind is not UnitKind.ENTERPRISE or rng.random() < 0.6
                town = seat if at_seat else _pick(rng, self.townships)
                lat, lon = _near(rng, town[1], town[2], 0.02)
                state_owned = (kind is UnitKind.PROPERTY_COMPANY and i == 0) or (
                    kind is UnitKind.ENTERPRISE and i < 30
                )
                self.units.append(
                    self.add(
                        "paired_unit",
                        name=full + self.sfx,
                        kind=kind,
                        has_party_org=kind is not UnitKind.ENTERPRISE or i < 36,
                        is_state_owned=state_owned,
                        address=f"吉安县{town[0]}{_pick(rng, roads)}{rng.randint(1, 399)}号",
                        latitude=lat,
                        longitude=lon,
                        created_at=self.ago(400, 1500),
                    )
                )
        self.unit_by_id = {u["id"]: u for u in self.units}
        self.property_units = [
            u for u in self.units if u["kind"] == UnitKind.PROPERTY_COMPANY.value
        ]
        self.service_units = [u for u in self.units if u["kind"] != UnitKind.PROPERTY_COMPANY.value]
        self.gov_units = [u for u in self.units if u["kind"] == UnitKind.GOVERNMENT.value]

    # ---- compounds (小区), each with a service station later
    def build_compounds(self) -> None:
        rng = self.rng
        sizes = [self.urban_size[c["id"]] for c in self.urban]
        per = _allocate(REFERENCE.compounds, [s * s for s in sizes])
        names = iter(vocab.COMPOUNDS)
        self.compounds: list[Row] = []
        fallback, market = self.property_units[0], self.property_units[1:]
        red_left = REFERENCE.red_property_compounds
        for community, n in zip(self.urban, per, strict=True):
            for _ in range(n):
                name = next(names)
                i = len(self.compounds)
                unit = fallback if i % 6 == 5 else market[i % len(market)]
                red = red_left > 0 and (name == YANJINGFU or i % 7 == 3)
                red_left -= red
                lat, lon = _near(rng, community["latitude"], community["longitude"], 0.006)
                self.compounds.append(
                    self.add(
                        "compound",
                        name=name + self.sfx,
                        community_id=community["id"],
                        property_unit_id=unit["id"],
                        is_red_property=red,
                        households=rng.randint(300, 2000),
                        latitude=lat,
                        longitude=lon,
                    )
                )
        assert red_left == 0, "red-property compounds not all placed"
        self.compounds_by_community: dict[int, list[Row]] = {}
        for c in self.compounds:
            self.compounds_by_community.setdefault(c["community_id"], []).append(c)

    # ---- grids
    def build_grids(self) -> None:
        rng = self.rng
        self.grids: list[_Grid] = []
        sizes = [self.urban_size[c["id"]] for c in self.urban]
        urban_per = _allocate(REFERENCE.urban_grids, sizes)
        base = REFERENCE.rural_grids // len(self.villages)
        extra = REFERENCE.rural_grids - base * len(self.villages)
        bonus = set(rng.sample(range(len(self.villages)), extra))
        rural_per = [base + (i in bonus) for i in range(len(self.villages))]
        plan = [
            (c, n, GridKind.URBAN, "U", 0.006) for c, n in zip(self.urban, urban_per, strict=True)
        ]
        plan += [
            (c, n, GridKind.RURAL, "V", 0.015)
            for c, n in zip(self.villages, rural_per, strict=True)
        ]
        index = {"U": 0, "V": 0}
        for community, n, kind, letter, radius in plan:
            index[letter] += 1
            for k in range(1, n + 1):
                lat, lon = _near(rng, community["latitude"], community["longitude"], radius)
                name = f"{community['name']}第{k}网格"
                row = self.add(
                    "grid",
                    code=f"{self.code_prefix}-{letter}{index[letter]:03d}-{k:02d}",
                    name=name,
                    kind=kind,
                    community_id=community["id"],
                    latitude=lat,
                    longitude=lon,
                )
                self.grids.append(
                    _Grid(
                        row["id"],
                        kind,
                        name,
                        community["id"],
                        community["name"],
                        community["township"],
                        lat,
                        lon,
                    )
                )
        self.grids_by_community: dict[int, list[_Grid]] = {}
        for g in self.grids:
            self.grids_by_community.setdefault(g.community_id, []).append(g)

    # ---- pairings (结对共建)
    def build_pairings(self) -> None:
        rng = self.rng
        self.unit_communities: dict[int, list[int]] = {}
        order = list(self.service_units)
        rng.shuffle(order)
        for i, unit in enumerate(order):
            if i < 8 * len(self.urban):
                first = self.urban[i % len(self.urban)]["id"]
            elif rng.random() < 0.7:
                first = _pick(rng, self.villages)["id"]
            else:
                first = _pick(rng, self.urban)["id"]
            chosen = [first]
            for _ in range(rng.choice((0, 0, 1, 1, 2))):
                other = (
                    _pick(rng, self.urban) if rng.random() < 0.5 else _pick(rng, self.villages)
                )["id"]
                if other not in chosen:
                    chosen.append(other)
            self.unit_communities[unit["id"]] = chosen
        for unit in self.property_units:
            managed = [
                c["community_id"] for c in self.compounds if c["property_unit_id"] == unit["id"]
            ]
            chosen = []
            for cid in managed:
                if cid not in chosen:
                    chosen.append(cid)
            self.unit_communities[unit["id"]] = chosen or [self.quantang["id"]]
        self.community_units: dict[int, list[int]] = {}
        self.pairing_since: dict[int, datetime] = {}
        for unit in self.units:
            since = self.ago(200, 1500)
            self.pairing_since[unit["id"]] = since
            for cid in self.unit_communities[unit["id"]]:
                self.add("pairing", unit_id=unit["id"], community_id=cid, since=since)
                self.community_units.setdefault(cid, []).append(unit["id"])
