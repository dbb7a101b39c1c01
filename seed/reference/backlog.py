"""Builds the open backlog against the people who can serve it, by matching's reach rules."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from schema.enums import GridKind, NeedAction, NeedSource, NeedStatus, NeedTier, ResourceKind
from schema.sla import RESOLVE_WITHIN
from seed import vocab
from seed.figures import REFERENCE
from seed.reference.draws import (
    _HEADCOUNT_OPEN,
    BACKLOG_URBAN_WEIGHT,
    COMMAND_CENTRE,
    HOT_COMMUNITIES,
    HOT_SHARE,
    HOT_VILLAGES,
    HOTLINE_CENTRE,
    LOCAL_OFFSET,
    _local_slot,
    _minutes,
    _near,
    _pick,
)
from seed.reference.history import _History
from seed.reference.needs import _NeedsBuilder
from seed.reference.servers import (
    _AFTER_HOURS,
    _SECOND_SKILL,
    _SKILL_FREE,
    MINUTES_PER_DAY,
    SERVING_KINDS,
    _after_hours,
    _Servers,
)
from seed.reference.specs import _Grid, _NeedSpec


class _BacklogBuilder(_NeedsBuilder):
    """The open backlog, drawn against the people who can serve it (reach, free time, skills)."""

    def backlog_grids(self, n: int) -> list[_Grid]:
        """Where the open needs are: a backlog builds up where reports outrun the people on
        hand, so a share of it sits in a few hot spots (villages after a storm, old compounds
        with failing pipes), the rest spread over the county like the year's reports."""
        rng = self.rng
        hot = rng.sample(self.villages, HOT_VILLAGES) + rng.sample(self.urban, HOT_COMMUNITIES)
        n_hot = round(n * HOT_SHARE)
        out = [_pick(rng, self.grids_by_community[_pick(rng, hot)["id"]]) for _ in range(n_hot)]
        weights = [BACKLOG_URBAN_WEIGHT if g.kind is GridKind.URBAN else 1 for g in self.grids]
        out += rng.choices(self.grids, weights, k=n - n_hot)
        rng.shuffle(out)
        return out

    def backlog(self) -> list[_NeedSpec]:
        """About 3,000 open needs across the grids, for matching to work on: those already
        dispatched keep their grid crew; those waiting for people are booked for a visit in the
        coming week (see `appointment`), so that a matching job finds people who can go."""
        rng = self.rng
        n = REFERENCE.open_needs
        tiers = (
            [NeedTier.ORDINARY] * REFERENCE.open_needs_ordinary
            + [NeedTier.COMPLEX] * REFERENCE.open_needs_complex
            + [NeedTier.MAJOR] * REFERENCE.open_needs_major
        )
        statuses = (
            [NeedStatus.REPORTED] * 900
            + [NeedStatus.ACCEPTED] * 1350
            + [NeedStatus.DISPATCHED] * 450
        )
        statuses += [NeedStatus.ARRIVED] * (n - len(statuses))
        rng.shuffle(tiers)
        rng.shuffle(statuses)
        chosen = self.backlog_grids(n)
        sources = rng.choices(
            (
                NeedSource.RESIDENT_APP,
                NeedSource.HOTLINE_12345,
                NeedSource.GRID_PATROL,
                NeedSource.TEAM_REPORT,
            ),
            (35, 25, 30, 10),
            k=n,
        )
        q_grids = self.grids_by_community[self.quantang["id"]]
        resident_account = self.account_ids.get("demo-resident")
        ant_members = self.teams[0][1]
        servers = self.servers()
        out: list[_NeedSpec] = []
        for i in range(n):
            tier, status, g, source = tiers[i], statuses[i], chosen[i], sources[i]
            account = None
            if i < 2 and resident_account is not None:
                # The demo resident follows two open reports of their own.
                g, source, account = q_grids[0], NeedSource.RESIDENT_APP, resident_account
                status = (NeedStatus.REPORTED, NeedStatus.DISPATCHED)[i]
            category = self.pick_category(source)
            name, phone, person_id = self.reporter(source, g)
            if source is NeedSource.TEAM_REPORT:
                person_id = _pick(rng, ant_members)
                name, phone = self.person_names[person_id], None
            if account is not None:
                name, phone, person_id = (
                    self.resident["name"],
                    self.resident["phone"],
                    self.resident["id"],
                )
            title, description, address, compound_id, lat, lon = self.need_texts(
                source, category, g
            )
            limit = RESOLVE_WITHIN[tier]
            dispatch_at = self.now
            if status in (NeedStatus.REPORTED, NeedStatus.ACCEPTED):
                reported = self.now - timedelta(seconds=int(10 * 86400 * rng.random() ** 2) + 300)
            else:
                ago = rng.randint(180, int(limit.total_seconds() * 1.4))
                dispatch_at = self.now - timedelta(seconds=ago)
                reported = dispatch_at - _minutes(rng, 5, 120)
            platform = HOTLINE_CENTRE if source is NeedSource.HOTLINE_12345 else COMMAND_CENTRE
            h = _History.reported(
                reported,
                name if source is not NeedSource.HOTLINE_12345 else HOTLINE_CENTRE,
                account,
            )
            headcount = _HEADCOUNT_OPEN.pick(rng)
            spec = _NeedSpec(
                source=source,
                category=category,
                tier=tier,
                grid=g,
                reported_at=reported,
                history=h,
                title=title,
                reporter_name=name,
                headcount=headcount,
                duration=self.duration_for(tier),
                urgency=self.urgency_for(tier),
                compound_id=compound_id,
                reporter_account_id=account,
                reporter_person_id=person_id,
                reporter_phone=phone,
                lat=lat,
                lon=lon,
                address=address,
                description=description,
                media_urls=self.media(source),
            )
            if status in (NeedStatus.REPORTED, NeedStatus.ACCEPTED):
                # Waiting for people: a visit booked in the coming days (预约上门).
                spec.window, spec.skills = self.appointment(servers, spec)
            else:
                spec.skills = self.need_skills(category, rng.choices((1, 2), (65, 35))[0])
            if rng.random() < 0.08:
                kind = rng.choice(
                    (
                        ResourceKind.VENUE,
                        ResourceKind.VEHICLE,
                        ResourceKind.EQUIPMENT,
                        ResourceKind.SUPPLIES,
                    )
                )
                qty = {
                    ResourceKind.VENUE: rng.randint(20, 60),
                    ResourceKind.VEHICLE: rng.randint(1, 2),
                    ResourceKind.EQUIPMENT: rng.randint(1, 4),
                    ResourceKind.SUPPLIES: rng.randint(10, 50),
                }[kind]
                spec.resources.append((kind, qty))
            if status is not NeedStatus.REPORTED:
                span = (min(dispatch_at, self.now) - reported).total_seconds()
                accept_at = reported + timedelta(seconds=int(span * rng.uniform(0.1, 0.6)))
                h.step(
                    NeedAction.ACCEPT, min(accept_at, reported + timedelta(minutes=30)), platform
                )
            if status in (NeedStatus.DISPATCHED, NeedStatus.ARRIVED):
                people = self.staff_for(g, headcount)
                spec.headcount = max(headcount, len(people))
                h.step(
                    NeedAction.DISPATCH, dispatch_at, COMMAND_CENTRE, "派单", {"person_ids": people}
                )
                for p in people:
                    spec.assignments.append((p, None, None, 1, True, h.last_at))
                if status is NeedStatus.ARRIVED:
                    at = h.last_at + _minutes(rng, 2, 14)
                    if at >= self.now:
                        at = h.last_at + (self.now - h.last_at) / 2
                    h.step(NeedAction.ARRIVE, at, self.person_names[people[0]])
            assert h.status is status and h.last_at < self.now
            out.append(spec)
        # A few fresh reports look like repeats of another open one nearby: flagged, not merged.
        reported_only = [
            s
            for s in out
            if s.history.status is NeedStatus.REPORTED and s.reporter_account_id is None
        ]
        for dup, orig in zip(reported_only[:20], reported_only[20:40], strict=True):
            if orig.reported_at < dup.reported_at:
                orig, dup = dup, orig
            dup.category, dup.grid, dup.title = orig.category, orig.grid, orig.title
            dup.lat, dup.lon = _near(rng, orig.lat, orig.lon, 0.0008)
            dup.compound_id, dup.address = orig.compound_id, orig.address
            dup.skills = list(orig.skills)
            if orig.window is not None:  # booked like the report it repeats
                start = orig.window[0]
                dup.window = (start, start + timedelta(minutes=dup.duration + 60))
            dup.duplicate_of = orig
            dup.reported_at = min(
                orig.reported_at + _minutes(rng, 5, 600), self.now - timedelta(minutes=1)
            )
            dup.history = _History.reported(dup.reported_at, dup.history.events[0].actor)
        return out

    def servers(self) -> _Servers:
        """Everyone who may be sent to a need, with their skills and weekly windows."""
        windows: dict[int, list[tuple[int, int, int]]] = {}
        for w in self.t["availability"]:
            windows.setdefault(w["person_id"], []).append(
                (w["weekday"], w["start_minute"], w["end_minute"])
            )
        people = [p for p in self.t["person"] if p["kind"] in SERVING_KINDS]
        return _Servers(people, self.person_skills, windows, self.skill_ids)

    def appointment(
        self, servers: _Servers, spec: _NeedSpec
    ) -> tuple[tuple[datetime, datetime], list[int]]:
        """When an open need is booked, and the skills it calls for.

        The command centre books the visit in the coming week (from tomorrow, local time) at a
        time when someone within the tier's reach is on duty or free: office hours with a grid
        worker, or, for the categories residents want seen after work, a member's evening or
        weekend. A good share of needs (rubbish, patrols, visits) call for no skill; the rest
        call for skills of their category that somebody nearby and free then actually holds.
        """
        rng = self.rng
        reach = servers.reach(spec.lat, spec.lon, spec.tier)
        after_hours = rng.random() < _AFTER_HOURS[spec.category]
        anchors = reach[servers.after_hours[reach] if after_hours else servers.office[reach]]
        if not anchors.size:
            anchors, after_hours = reach, not after_hours
        if anchors.size:
            own = servers.windows[int(_pick(rng, anchors))]
            fits = [w for w in own if _after_hours(w) == after_hours] or own
            weekday, lo, hi = _pick(rng, fits)
        else:  # nobody within reach: office hours, whoever can come
            weekday, lo, hi = rng.randint(0, 4), 8 * 60 + 30, 17 * 60 + 30
        room = max(0, hi - lo - spec.duration)
        minute = lo + 15 * rng.randint(0, room // 15)
        today = (self.now + LOCAL_OFFSET).date()
        ahead = (weekday - today.weekday() - 1) % 7 + 1  # tomorrow .. a week today
        day = datetime.combine(today + timedelta(days=ahead), time(), tzinfo=UTC)
        start = _local_slot(day, minute)
        window = (start, start + timedelta(minutes=spec.duration + rng.choice((30, 60, 120))))
        if rng.random() < _SKILL_FREE[spec.category]:
            return window, []
        free = servers.free_at(reach, weekday * MINUTES_PER_DAY + minute)
        bits = {c: 1 << (self.skill_ids[c] - 1) for c in vocab.CATEGORY_SKILLS[spec.category]}
        held = {c: servers.holders(free, b) for c, b in bits.items()}
        if not any(held.values()):
            return window, []
        first = _pick(rng, [c for c, k in held.items() if k])
        skills = [first]
        if rng.random() < _SECOND_SKILL:
            both = {
                c: servers.holders(free, bits[first] | b) for c, b in bits.items() if c != first
            }
            if any(both.values()):
                skills.append(_pick(rng, [c for c, k in both.items() if k]))
        return window, sorted(self.skill_ids[c] for c in skills)
