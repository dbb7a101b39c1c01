"""Builds the people: residents, grid staff, party members and volunteers, with free time."""

from __future__ import annotations

from collections.abc import Sequence

from schema.enums import (
    AreaKind,
    EnterpriseRequestKind,
    GridKind,
    GridRole,
    PersonKind,
    TravelMode,
    UnitKind,
)
from seed import vocab
from seed.figures import HENGXI, REFERENCE
from seed.reference.areas import _AreasBuilder
from seed.reference.draws import (
    _DUTY_SPANS,
    _EVENING_COUNT,
    _EVENINGS,
    _PART_TIME_SPANS,
    _WEEKEND_COUNT,
    _WEEKEND_SPANS,
    VILLAGE_PARTY_MEMBERS,
    _allocate,
    _near,
    _pick,
)
from seed.reference.tables import Row


class _PeopleBuilder(_AreasBuilder):
    """Residents, grid workers, party members and volunteers, with their weekly free time."""

    # ---- people
    def person(
        self,
        kind: PersonKind,
        community: Row,
        *,
        radius: float,
        name: str | None = None,
        employer: int | None = None,
        travel: TravelMode = TravelMode.FOOT,
        capacity: int = 240,
        skills: Sequence[str] = (),
        windows: Sequence[tuple[int, int, int]] = (),
        commando: bool = False,
        max_open: int = 0,
        near: tuple[float, float] | None = None,
    ) -> Row:
        lat0, lon0 = near or (community["latitude"], community["longitude"])
        lat, lon = _near(self.rng, lat0, lon0, radius)
        row = self.add(
            "person",
            name=name or self.name(),
            kind=kind,
            is_party_member=kind is PersonKind.PARTY_MEMBER,
            phone=self.phone(),
            id_number=self.id_number(),
            registered_community_id=community["id"],
            employer_unit_id=employer,
            latitude=lat,
            longitude=lon,
            travel_mode=travel,
            weekly_capacity_minutes=capacity,
            is_commando=commando,
            max_open_requests=max_open,
            created_at=self.ago(60, 1200),
        )
        seen: list[str] = []
        for code in skills:
            if code not in seen:
                seen.append(code)
                self.add("person_skill", person_id=row["id"], skill_id=self.skill_ids[code])
        for weekday, start, end in windows:
            self.add(
                "availability",
                person_id=row["id"],
                weekday=weekday,
                start_minute=start,
                end_minute=end,
            )
        self.person_skills[row["id"]] = seen
        return row

    def volunteer_windows(self) -> list[tuple[int, int, int]]:
        """An in-service member's (cadre's, team member's) week, local time: a few weekday
        evenings after work and, for most, a weekend half-day or day; a few also give a weekday
        lunch break."""
        rng = self.rng
        out: list[tuple[int, int, int]] = []
        evening = _pick(rng, _EVENINGS)
        for day in sorted(rng.sample(range(5), _EVENING_COUNT.pick(rng))):
            out.append((day, *evening))
        for day in sorted(rng.sample((5, 6), _WEEKEND_COUNT.pick(rng))):
            out.append((day, *_pick(rng, _WEEKEND_SPANS)))
        if rng.random() < 0.1:
            out.append((rng.randint(0, 4), 12 * 60, 13 * 60 + 30))
        return out or [(rng.randint(5, 6), *_pick(rng, _WEEKEND_SPANS))]

    def part_time_windows(self) -> list[tuple[int, int, int]]:
        """A part-time grid worker (village cadre, shopkeeper, retiree): daytime half-days on
        a few days of the week, sometimes an evening."""
        rng = self.rng
        days = sorted(rng.sample(range(7), rng.randint(2, 4)))
        return [(day, *_pick(rng, _PART_TIME_SPANS)) for day in days]

    def office_windows(self) -> list[tuple[int, int, int]]:
        """Grid leaders and full-time grid workers: office hours, half of them also on weekend
        duty (值班) for half a day."""
        rng = self.rng
        out = [(d, 8 * 60 + 30, 17 * 60 + 30) for d in range(5)]
        if rng.random() < 0.5:
            out.append((rng.randint(5, 6), *_pick(rng, _DUTY_SPANS)))
        return out

    def build_people(self) -> None:
        rng = self.rng
        self.person_skills: dict[int, list[str]] = {}
        office = [(d, 8 * 60 + 30, 17 * 60 + 30) for d in range(5)]
        grid_skills = (
            "mediation",
            "policy_advice",
            "cleaning",
            "fire_safety",
            "first_aid",
            "elder_care",
            "electrician",
            "it_support",
        )
        # Grid workers: 1 leader + 1 full-time + N part-time per grid.
        self.person_names: dict[int, str] = {}
        for g in self.grids:
            community = self.community_by_id[g.community_id]
            n_part = rng.choice((2, 2, 3)) if g.kind is GridKind.URBAN else rng.choice((1, 1, 2))
            roles = [GridRole.LEADER, GridRole.FULL_TIME] + [GridRole.PART_TIME] * n_part
            for role in roles:
                name = (
                    "肖光明"
                    if (
                        role is GridRole.LEADER
                        and g.community == HENGXI
                        and g.name.endswith("第1网格")
                    )
                    else None
                )
                p = self.person(
                    PersonKind.GRID_WORKER,
                    community,
                    radius=0.008,
                    name=name,
                    near=(g.lat, g.lon),
                    travel=rng.choice((TravelMode.EBIKE, TravelMode.EBIKE, TravelMode.FOOT)),
                    capacity={
                        GridRole.LEADER: rng.choice((180, 240, 360)),
                        GridRole.FULL_TIME: rng.choice((360, 480, 600)),
                    }.get(role, rng.choice((90, 120, 180, 240))),
                    skills=rng.sample(grid_skills, rng.randint(1, 2)),
                    windows=self.office_windows()
                    if role is not GridRole.PART_TIME
                    else self.part_time_windows(),
                )
                self.add("grid_staff", grid_id=g.id, person_id=p["id"], role=role)
                self.person_names[p["id"]] = p["name"]
                if role is GridRole.LEADER:
                    g.leader = p["id"]
                elif role is GridRole.FULL_TIME:
                    g.full_time = p["id"]
                else:
                    g.part_time.append(p["id"])

        # In-service party members (在职党员), registered with communities.
        skill_codes = [c for c, _ in vocab.SKILLS]
        skill_weights = [
            1 if c in ("sign_language", "ecommerce", "agri_tech") else 4 for c in skill_codes
        ]
        # Most live in the county town; township staff, teachers and doctors live out in the
        # villages and register there, near the grids whose needs they can reach.
        n_village = VILLAGE_PARTY_MEMBERS
        n_quantang = 420
        rest = _allocate(
            REFERENCE.party_members - n_village - n_quantang,
            [self.urban_size[c["id"]] for c in self.urban[1:]],
        )
        homes: list[Row] = [self.quantang] * n_quantang
        for c, n in zip(self.urban[1:], rest, strict=True):
            homes += [c] * n
        homes += [_pick(rng, self.villages) for _ in range(n_village)]
        self.members: list[Row] = []
        self.members_by_community: dict[int, list[int]] = {}
        for community in homes:
            twinned = self.community_units.get(community["id"], [])
            twinned_service = [
                u for u in twinned if self.unit_kind(u) is not UnitKind.PROPERTY_COMPANY
            ]
            if twinned_service and rng.random() < 0.6:
                employer = _pick(rng, twinned_service)
            else:
                employer = _pick(rng, self.service_units)["id"]
            urban = community["kind"] == AreaKind.URBAN_COMMUNITY.value
            home = None if urban else _pick(rng, self.grids_by_community[community["id"]])
            p = self.person(
                PersonKind.PARTY_MEMBER,
                community,
                radius=0.015 if urban else 0.006,
                near=None if home is None else (home.lat, home.lon),
                employer=employer,
                travel=rng.choices(
                    (TravelMode.FOOT, TravelMode.EBIKE, TravelMode.CAR),
                    (35, 45, 20) if urban else (20, 50, 30),
                )[0],
                capacity=rng.choice((60, 60, 90, 120, 120, 180, 180, 240, 240, 360)),
                skills=rng.choices(skill_codes, skill_weights, k=rng.randint(1, 3)),
                windows=self.volunteer_windows(),
                commando=rng.random() < 0.1,
            )
            self.members.append(p)
            self.members_by_community.setdefault(community["id"], []).append(p["id"])
            self.person_names[p["id"]] = p["name"]

        # County-managed cadres (县管干部) serving as community committee members.
        self.cadres = []
        for community in self.urban[: REFERENCE.cadres]:
            p = self.person(
                PersonKind.CADRE,
                community,
                radius=0.01,
                employer=_pick(rng, self.gov_units)["id"],
                travel=TravelMode.CAR,
                capacity=180,
                skills=rng.sample(("policy_advice", "mediation", "legal_advice"), 2),
                windows=self.volunteer_windows(),
            )
            self.cadres.append(p)
            self.person_names[p["id"]] = p["name"]

        # Enterprise helpers (小赣事), each handling a few request kinds.
        business_units = [
            u["id"]
            for u in self.gov_units
            if any(
                w in u["name"]
                for w in (
                    "审批",
                    "商务",
                    "工业",
                    "发展",
                    "市场",
                    "税务",
                    "人力",
                    "自然资源",
                    "园区",
                )
            )
        ]
        kinds = list(EnterpriseRequestKind)
        self.helpers: list[Row] = []
        self.helper_kinds: dict[int, list[EnterpriseRequestKind]] = {}
        for i in range(REFERENCE.enterprise_helpers):
            p = self.person(
                PersonKind.ENTERPRISE_HELPER,
                _pick(rng, self.urban),
                radius=0.01,
                employer=_pick(rng, business_units),
                travel=rng.choice((TravelMode.CAR, TravelMode.EBIKE)),
                capacity=rng.choice((600, 900, 1200)),
                skills=rng.sample(
                    ("policy_advice", "legal_advice", "accounting"), rng.randint(1, 2)
                ),
                windows=office,
                max_open=rng.randint(3, 8),
            )
            ks = [kinds[i % len(kinds)]]
            for k in rng.sample(kinds, rng.randint(0, 2)):
                if k not in ks:
                    ks.append(k)
            for k in ks:
                self.add("helper_expertise", person_id=p["id"], kind=k)
            self.helpers.append(p)
            self.helper_kinds[p["id"]] = ks
            self.person_names[p["id"]] = p["name"]

        # The demo resident, who lives in 燕京府小区.
        yjf = self.compounds[0]
        self.resident = self.person(
            PersonKind.RESIDENT,
            self.quantang,
            radius=0.001,
            name="王秀英",
            near=(yjf["latitude"], yjf["longitude"]),
            capacity=0,
        )

    def unit_kind(self, unit_id: int) -> UnitKind:
        return UnitKind(self.unit_by_id[unit_id]["kind"])
