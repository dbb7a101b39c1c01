"""Builds volunteer teams, venues and the resources paired units bring."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from schema.enums import PersonKind, ResourceKind, TeamKind, TravelMode, VenueKind
from seed import vocab
from seed.figures import REFERENCE
from seed.reference.draws import _near, _pick
from seed.reference.people import _PeopleBuilder
from seed.reference.tables import Row


class _TeamsBuilder(_PeopleBuilder):
    """Volunteer teams, the venues they serve from and the resources paired units bring."""

    # ---- teams
    def build_teams(self) -> None:
        rng = self.rng
        team_skills = {
            "ant_action": ("first_aid", "driving", "photography"),
            "food_safety": ("food_safety", "driving"),
            "live_streaming": ("ecommerce", "agri_tech", "photography"),
        }
        other_skills = (
            ("moving", "driving"),
            ("driving", "first_aid"),
            ("driving", "moving"),
            ("housekeeping", "elder_care", "cleaning"),
        )
        travel = {
            "ant_action": (TravelMode.EBIKE,),
            "food_safety": (TravelMode.EBIKE,),
            "live_streaming": (TravelMode.FOOT, TravelMode.CAR),
        }
        other_travel = (
            (TravelMode.EBIKE,),
            (TravelMode.CAR,),
            (TravelMode.CAR,),
            (TravelMode.EBIKE, TravelMode.FOOT),
        )
        self.teams: list[tuple[Row, list[int], int]] = []
        other = 0
        for name, kind, n_members, solved in vocab.NEW_BUSINESS_TEAMS:
            team = self.add(
                "team",
                name=name + self.sfx,
                kind=TeamKind(kind),
                community_id=None,
                sales_yuan=REFERENCE.live_stream_sales_yuan if kind == "live_streaming" else 0,
                founded_at=datetime(2023 + len(self.teams) % 3, 3 + len(self.teams), 1, tzinfo=UTC),
            )
            if kind in team_skills:
                skills, modes = team_skills[kind], travel[kind]
            else:
                skills, modes = other_skills[other], other_travel[other]
                other += 1
            members: list[int] = []
            for j in range(n_members):
                home = (
                    _pick(rng, self.villages)
                    if kind == "live_streaming"
                    else _pick(rng, self.urban)
                )
                p = self.person(
                    PersonKind.TEAM_MEMBER,
                    home,
                    radius=0.015,
                    travel=_pick(rng, modes),
                    capacity=rng.choice((120, 180, 240, 360, 480)),
                    skills=rng.sample(skills, rng.randint(1, len(skills))),
                    windows=self.volunteer_windows(),
                )
                self.person_names[p["id"]] = p["name"]
                members.append(p["id"])
                self.add(
                    "team_membership",
                    team_id=team["id"],
                    person_id=p["id"],
                    is_leader=j == 0,
                    joined_at=team["founded_at"] + timedelta(days=rng.randint(0, 300)),
                )
            self.teams.append((team, members, solved))
        squad = self.add(
            "team",
            name=vocab.HELP_SQUAD + self.sfx,
            kind=TeamKind.HELP_SQUAD,
            community_id=None,
            founded_at=datetime(2024, 2, 1, tzinfo=UTC),
        )
        for j, h in enumerate(self.helpers):
            self.add(
                "team_membership",
                team_id=squad["id"],
                person_id=h["id"],
                is_leader=j == 0,
                joined_at=squad["founded_at"] + timedelta(days=rng.randint(0, 200)),
            )
        self.team_member_ids = [pid for _, members, _ in self.teams for pid in members]

    # ---- venues
    def build_venues(self) -> None:
        rng = self.rng
        self.venues_by_community: dict[int, list[Row]] = {}
        self.seat_resources: list[Row] = []

        def venue(
            kind: VenueKind,
            name: str,
            community: Row,
            capacity: int,
            services: list[str],
            compound: Row | None = None,
        ) -> Row:
            at = compound or community
            lat, lon = _near(rng, at["latitude"], at["longitude"], 0.002)
            v = self.add(
                "venue",
                name=name,
                kind=kind,
                community_id=community["id"],
                compound_id=compound["id"] if compound else None,
                capacity=capacity,
                services=services,
                latitude=lat,
                longitude=lon,
            )
            self.venues_by_community.setdefault(community["id"], []).append(v)
            return v

        def services(pool: Sequence[str], lo: int, hi: int) -> list[str]:
            idx = sorted(rng.sample(range(len(pool)), rng.randint(lo, hi)))
            return [pool[i] for i in idx]

        with_rooms: list[Row] = []
        for c in self.urban:
            with_rooms.append(
                venue(
                    VenueKind.COMMUNITY_CENTRE,
                    f"{c['name']}党群服务中心",
                    c,
                    rng.randint(100, 300),
                    services(vocab.STATION_SERVICES, 20, 26),
                )
            )
        for cp in self.compounds:
            c = self.community_by_id[cp["community_id"]]
            with_rooms.append(
                venue(
                    VenueKind.SERVICE_STATION,
                    f"{cp['name']}党群服务站",
                    c,
                    rng.randint(30, 120),
                    services(
                        vocab.STATION_SERVICES,
                        REFERENCE.station_services_min,
                        len(vocab.STATION_SERVICES),
                    ),
                    cp,
                )
            )
        for v in self.villages:
            with_rooms.append(
                venue(
                    VenueKind.VILLAGE_VENUE,
                    f"{v['name']}党群服务中心",
                    v,
                    rng.randint(50, 200),
                    services(vocab.STATION_SERVICES, 8, 12),
                )
            )
        elder_pool = ("老年助餐", "健康义诊", "血压测量", "文体活动", "爱心理发", "邻里互助")
        for v in sorted(
            rng.sample(self.villages, REFERENCE.elder_care_sites), key=lambda r: r["id"]
        ):
            venue(
                VenueKind.ELDER_CARE,
                f"{v['name']}互助养老服务点",
                v,
                rng.randint(10, 40),
                services(elder_pool, 3, 6),
            )
        for v in with_rooms:
            self.seat_resources.append(
                self.add(
                    "resource",
                    name=f"{v['name']}活动室",
                    kind=ResourceKind.VENUE,
                    unit_id=None,
                    venue_id=v["id"],
                    community_id=v["community_id"],
                    quantity=v["capacity"],
                    unit_label="座",
                    latitude=v["latitude"],
                    longitude=v["longitude"],
                    is_available=True,
                    available_from=self.now - timedelta(days=365),
                    available_until=None,
                )
            )

    # ---- resources paired units bring
    def build_resources(self) -> None:
        rng = self.rng
        for unit in self.units:
            offers = vocab.RESOURCE_OFFERS[unit["kind"]]
            for kind, label, unit_label, lo, hi in rng.sample(
                offers, min(len(offers), rng.randint(2, 3))
            ):
                qty = rng.randint(lo, hi)
                if kind is ResourceKind.FUNDS:
                    qty = qty // 1000 * 1000
                since = self.pairing_since[unit["id"]]
                self.add(
                    "resource",
                    name=f"{unit['name']}{label}",
                    kind=kind,
                    unit_id=unit["id"],
                    venue_id=None,
                    community_id=self.unit_communities[unit["id"]][0],
                    quantity=qty,
                    unit_label=unit_label,
                    latitude=unit["latitude"],
                    longitude=unit["longitude"],
                    is_available=rng.random() < 0.95,
                    available_from=since,
                    available_until=None
                    if rng.random() < 0.8
                    else self.now + timedelta(days=rng.randint(30, 365)),
                )
