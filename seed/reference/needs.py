"""Builds a year of closed needs (with consultations, merges and ratings) and emits need rows."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from schema.enums import (
    GridKind,
    NeedAction,
    NeedCategory,
    NeedKind,
    NeedSource,
    NeedStatus,
    NeedTier,
)
from schema.sla import RESOLVE_WITHIN, need_deadlines
from schema.workflow import escalated_tier
from seed import vocab
from seed.figures import REFERENCE
from seed.reference.draws import (
    _CATEGORIES,
    _COMMENTS_BAD,
    _COMMENTS_GOOD,
    _HEADCOUNT_CLOSED,
    _TIERS,
    COMMAND_CENTRE,
    HOTLINE_CENTRE,
    MEDIA_BASE,
    _days_ago_local,
    _minutes,
    _near,
    _pick,
    _rating,
)
from seed.reference.enterprise import _EnterpriseBuilder
from seed.reference.history import _History
from seed.reference.specs import _Grid, _NeedSpec
from seed.reference.tables import Row


class _NeedsBuilder(_EnterpriseBuilder):
    """A year of the closed loop (reported, assigned, resolved, rated, merged) and the need rows."""

    def backlog(self) -> list[_NeedSpec]:
        """Today's open needs; the backlog builder (next in the chain) draws them."""
        raise NotImplementedError

    # ---- consultations (赣事好商量·吉事广议)
    def build_consultations(self) -> None:
        rng = self.rng
        n = REFERENCE.consultations
        places = [self.quantang] * 4 + [_pick(rng, self.urban[1:]) for _ in range(14)]
        places += [_pick(rng, self.villages) for _ in range(n - len(places))]
        settled = [1] * n
        for i in rng.choices(range(n), k=REFERENCE.disputes_settled - n):
            settled[i] += 1
        self.consultations: list[tuple[Row, Row]] = []
        for i, (community, k) in enumerate(zip(places, settled, strict=True)):
            topic = (
                vocab.CONSULTATION_TOPICS[0] if i == 4 else _pick(rng, vocab.CONSULTATION_TOPICS)
            )
            held = _days_ago_local(rng, self.now, 12, 360)
            row = self.add(
                "consultation",
                community_id=community["id"],
                topic=f"{community['name']}{topic}协商会",
                held_at=held,
                participants=rng.randint(12, 80),
                disputes_settled=k,
                outcome=f"经业主、物业、共建单位三方协商，就{topic}达成一致意见，化解矛盾{k}个，形成办理事项转网格落实。",
            )
            self.consultations.append((row, community))

    # ---- needs: a year of the closed loop, plus the open backlog
    def build_needs(self) -> None:
        rng = self.rng
        q = self.quantang
        self.grid_weights = [6 if g.kind is GridKind.URBAN else 1 for g in self.grids]
        q_grids = self.grids_by_community[q["id"]]
        non_q = [g for g in self.grids if g.community_id != q["id"]]
        non_q_weights = [6 if g.kind is GridKind.URBAN else 1 for g in non_q]
        specs: list[_NeedSpec] = []
        resident_account = self.account_ids.get("demo-resident")

        def grids(
            k: int, pool: list[_Grid] | None = None, weights: list[int] | None = None
        ) -> list[_Grid]:
            if pool is None:
                return rng.choices(self.grids, self.grid_weights, k=k)
            return (
                rng.choices(pool, weights, k=k) if weights else [_pick(rng, pool) for _ in range(k)]
            )

        # 12345 hotline: every ticket rated; exactly REFERENCE's satisfied count, the
        # dissatisfied ones outside 泉塘社区.
        n_hot = REFERENCE.hotline_tickets_rated
        hot_grids = grids(n_hot)
        unhappy_idx = set(
            rng.sample(
                [i for i, g in enumerate(hot_grids) if g.community_id != q["id"]],
                n_hot - REFERENCE.hotline_tickets_satisfied,
            )
        )
        for i, g in enumerate(hot_grids):
            specs.append(
                self.closed_need(NeedSource.HOTLINE_12345, g, satisfied=i not in unhappy_idx)
            )

        # 泉塘社区's "吹哨报到" requests handled, and its sentinel-post suggestions.
        n_q = REFERENCE.quantang_requests_handled
        unhappy_q = set(rng.sample(range(n_q), n_q - REFERENCE.quantang_requests_satisfied))
        for i in range(n_q):
            demo = i < 4 and resident_account is not None
            specs.append(
                self.closed_need(
                    NeedSource.RESIDENT_APP,
                    _pick(rng, q_grids),
                    satisfied=i not in unhappy_q,
                    reporter_account=resident_account if demo else None,
                )
            )
        for _ in range(REFERENCE.sentinel_suggestions):
            specs.append(
                self.closed_need(NeedSource.SENTINEL_POST, _pick(rng, q_grids), satisfied=True)
            )

        # Problems solved by the 7 new-business teams (reported by their members).
        for team, members, solved in self.teams:
            for _ in range(solved):
                g = grids(1, non_q, non_q_weights)[0] if rng.random() < 0.9 else _pick(rng, q_grids)
                specs.append(
                    self.closed_need(
                        NeedSource.TEAM_REPORT,
                        g,
                        satisfied=rng.random() < 0.97 or g.community_id == q["id"],
                        team=(team, members),
                    )
                )

        # Needs that came out of consultations: one per dispute settled.
        for consultation, community in self.consultations:
            for _ in range(consultation["disputes_settled"]):
                g = _pick(rng, self.grids_by_community[community["id"]])
                specs.append(
                    self.closed_need(
                        NeedSource.CONSULTATION, g, satisfied=True, consultation=consultation
                    )
                )

        # Grid patrols and residents elsewhere; Ant Action reports handled by the grid.
        for g in grids(3600):
            specs.append(self.closed_need(NeedSource.GRID_PATROL, g, satisfied=True, rated=False))
        for g in grids(1850, non_q, non_q_weights):
            specs.append(
                self.closed_need(NeedSource.RESIDENT_APP, g, satisfied=rng.random() < 0.955)
            )
        ant_members = self.teams[0][1]
        for g in grids(320, non_q, non_q_weights):
            specs.append(
                self.closed_need(
                    NeedSource.TEAM_REPORT, g, satisfied=True, rated=False, reporter=ant_members
                )
            )

        # Resolved recently, waiting for the resident's rating.
        for g in grids(90, non_q, non_q_weights):
            specs.append(
                self.closed_need(
                    NeedSource.RESIDENT_APP, g, satisfied=True, stop_at=NeedStatus.RESOLVED
                )
            )

        # Duplicates merged into the need they repeat.
        originals = [
            s
            for s in specs
            if s.source is NeedSource.RESIDENT_APP
            and s.grid.community_id != q["id"]
            and s.history.status is NeedStatus.CLOSED
        ]
        for orig in rng.sample(originals, 18):
            specs.append(self.merged_need(orig))

        specs += self.backlog()

        specs.sort(key=lambda s: (s.reported_at, s.grid.id, s.title))
        for s in specs:
            s.id = self.ids.next("need")
        self.emit_needs(specs)

    def reporter(self, source: NeedSource, g: _Grid) -> tuple[str, str | None, int | None]:
        rng = self.rng
        if source is NeedSource.GRID_PATROL:
            pid = _pick(rng, [g.full_time, g.leader, *g.part_time])
            return self.person_names[pid], None, pid
        if source is NeedSource.CONSULTATION:
            return "协商议事会", None, None
        return _pick(rng, self.name_pool), self.phone() if rng.random() < 0.9 else None, None

    def need_texts(
        self, source: NeedSource, category: NeedCategory, g: _Grid
    ) -> tuple[str, str, str, int | None, float, float]:
        rng = self.rng
        compounds = self.compounds_by_community.get(g.community_id, [])
        compound = _pick(rng, compounds) if compounds and rng.random() < 0.6 else None
        if compound is not None:
            place = f"{compound['name']}{rng.randint(1, 24)}栋"
            lat, lon = _near(rng, compound["latitude"], compound["longitude"], 0.002)
        else:
            place = f"{g.name}{rng.randint(1, 12)}组" if g.kind is GridKind.RURAL else g.name
            lat, lon = _near(rng, g.lat, g.lon, 0.004)
        issue = (
            _pick(rng, vocab.SUGGESTIONS)
            if source is NeedSource.SENTINEL_POST
            else _pick(rng, vocab.NEED_ISSUES[category])
        )
        title = f"{place}{issue}"
        description = f"{source.label}：{g.community}{place}{issue}，请尽快安排人员处理。"
        address = f"吉安县{g.township}{g.community}{place}"
        return title, description, address, compound["id"] if compound else None, lat, lon

    def pick_category(self, source: NeedSource, team_kind: str | None = None) -> NeedCategory:
        rng = self.rng
        if team_kind == "food_safety":
            return NeedCategory.FOOD_SAFETY
        if team_kind == "live_streaming":
            return rng.choice((NeedCategory.POLICY, NeedCategory.OTHER))
        if source is NeedSource.CONSULTATION:
            return rng.choice(
                (
                    NeedCategory.DISPUTE,
                    NeedCategory.DISPUTE,
                    NeedCategory.ENVIRONMENT,
                    NeedCategory.PROPERTY,
                )
            )
        if source is NeedSource.SENTINEL_POST:
            return rng.choice(
                (NeedCategory.OTHER, NeedCategory.ELDER_CARE, NeedCategory.INFRASTRUCTURE)
            )
        return _CATEGORIES.pick(rng)

    def pick_tier(self) -> NeedTier:
        return _TIERS.pick(self.rng)

    def staff_for(self, g: _Grid, n: int) -> list[int]:
        rng = self.rng
        crew = [g.full_time, *g.part_time, g.leader]
        out = crew[: max(1, min(n, len(crew)))]
        members = self.members_by_community.get(g.community_id, [])
        if members and n > 1 and rng.random() < 0.5:
            out[-1] = _pick(rng, members)
        return out

    def need_skills(self, category: NeedCategory, k: int) -> list[int]:
        codes = vocab.CATEGORY_SKILLS[category]
        picked = self.rng.sample(codes, min(k, len(codes)))
        return sorted(self.skill_ids[c] for c in picked)

    def closed_need(
        self,
        source: NeedSource,
        g: _Grid,
        *,
        satisfied: bool,
        rated: bool = True,
        reporter_account: int | None = None,
        team: tuple[Row, list[int]] | None = None,
        consultation: Row | None = None,
        reporter: list[int] | None = None,
        stop_at: NeedStatus = NeedStatus.CLOSED,
    ) -> _NeedSpec:
        """A need that went round the loop in the year before now (or up to `stop_at`)."""
        rng = self.rng
        tier = self.pick_tier()
        category = self.pick_category(source, team[0]["kind"] if team else None)
        if consultation is not None:
            reported = consultation["held_at"] + _minutes(rng, 60, 48 * 60)
        elif stop_at is NeedStatus.RESOLVED:
            reported = _days_ago_local(rng, self.now, 2, 3)
            tier = NeedTier.ORDINARY
        else:
            reported = _days_ago_local(rng, self.now, 8, 364)
        name, phone, person_id = self.reporter(source, g)
        if reporter:
            person_id = _pick(rng, reporter)
            name, phone = self.person_names[person_id], None
        if team is not None:
            person_id = _pick(rng, team[1])
            name, phone = self.person_names[person_id], None
        if reporter_account is not None:
            name, phone, person_id = (
                self.resident["name"],
                self.resident["phone"],
                self.resident["id"],
            )
        title, description, address, compound_id, lat, lon = self.need_texts(source, category, g)
        platform = HOTLINE_CENTRE if source is NeedSource.HOTLINE_12345 else COMMAND_CENTRE
        h = _History.reported(
            reported,
            name if source is not NeedSource.HOTLINE_12345 else HOTLINE_CENTRE,
            reporter_account,
        )
        h.step(NeedAction.ACCEPT, reported + _minutes(rng, 1, 20), platform)
        if tier is not NeedTier.ORDINARY and rng.random() < 0.08:
            lower = NeedTier.ORDINARY if tier is NeedTier.COMPLEX else NeedTier.COMPLEX
            assert escalated_tier(lower) is tier
            h.step(
                NeedAction.ESCALATE,
                h.last_at + _minutes(rng, 1, 10),
                COMMAND_CENTRE,
                "情况复杂，升级处理",
                {"from_tier": lower.value, "to_tier": tier.value},
            )
        headcount = _HEADCOUNT_CLOSED.pick(rng)
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
            consultation_id=consultation["id"] if consultation else None,
            reporter_account_id=reporter_account,
            reporter_person_id=person_id,
            reporter_phone=phone,
            lat=lat,
            lon=lon,
            address=address,
            description=description,
            media_urls=self.media(source),
        )
        if rng.random() < 0.5:
            spec.skills = self.need_skills(category, rng.randint(1, 2))

        def crew() -> tuple[list[tuple[int | None, int | None]], str, dict[str, Any]]:
            if team is not None:
                t, members = team
                people = rng.sample(members, min(headcount, len(members)))
                who: list[tuple[int | None, int | None]] = [(None, t["id"])] + [
                    (p, None) for p in people
                ]
                return who, t["name"], {"team_id": t["id"], "person_ids": people}
            people = self.staff_for(g, headcount)
            return [(p, None) for p in people], self.person_names[people[0]], {"person_ids": people}

        # Returned once (退回) and dispatched again, for a few.
        if rng.random() < 0.03:
            who, _, data = crew()
            at = h.last_at + _minutes(rng, 1, 15)
            h.step(NeedAction.DISPATCH, at, COMMAND_CENTRE, "派单至网格", data)
            for p, t in who:
                spec.assignments.append((p, t, None, 1, False, h.last_at))
            h.step(
                NeedAction.RETURN,
                h.last_at + _minutes(rng, 3, 20),
                self.person_names[who[-1][0]] if who[-1][0] else COMMAND_CENTRE,
                "不属于本网格职责，申请退回",
            )
        who, lead, data = crew()
        h.step(NeedAction.DISPATCH, h.last_at + _minutes(rng, 1, 15), COMMAND_CENTRE, "派单", data)
        dispatched = h.last_at
        for p, t in who:
            spec.assignments.append((p, t, None, 1, True, dispatched))
        spec.headcount = max(1, sum(1 for p, _ in who if p is not None))
        arrive_late = rng.random() >= 0.95
        resolve_late = rng.random() >= 0.93
        arrive_off = _minutes(rng, 11, 40) if arrive_late else _minutes(rng, 2, 10)
        limit = RESOLVE_WITHIN[tier]
        min_work = {NeedTier.ORDINARY: 3, NeedTier.COMPLEX: 15, NeedTier.MAJOR: 60}[tier]
        lo = arrive_off + timedelta(minutes=min_work)
        if resolve_late or lo >= limit:
            extra = {
                NeedTier.ORDINARY: (5, 120),
                NeedTier.COMPLEX: (20, 8 * 60),
                NeedTier.MAJOR: (120, 48 * 60),
            }[tier]
            resolve_off = max(limit, lo) + _minutes(rng, *extra)
        else:
            resolve_off = lo + timedelta(seconds=rng.randint(0, int((limit - lo).total_seconds())))
        h.step(NeedAction.ARRIVE, dispatched + arrive_off, lead)
        h.step(NeedAction.RESOLVE, dispatched + resolve_off, lead, "已办结")
        if stop_at is NeedStatus.CLOSED:
            at = h.last_at + _minutes(rng, 10, 48 * 60)
            if rated:
                spec.satisfaction = _rating(rng, satisfied=satisfied)
                spec.rating_comment = _pick(rng, _COMMENTS_GOOD if satisfied else _COMMENTS_BAD)
                h.step(
                    NeedAction.RATE,
                    at,
                    name,
                    spec.rating_comment,
                    {"satisfaction": spec.satisfaction},
                    reporter_account,
                )
            else:
                h.step(NeedAction.CLOSE, at, COMMAND_CENTRE, "核查办结，关闭工单")
        assert h.last_at < self.now, "a closed need ends after now"
        return spec

    def merged_need(self, orig: _NeedSpec) -> _NeedSpec:
        rng = self.rng
        reported = orig.reported_at + _minutes(rng, 2, 20)
        name, phone, _ = self.reporter(NeedSource.RESIDENT_APP, orig.grid)
        h = _History.reported(reported, name)
        h.step(NeedAction.ACCEPT, reported + _minutes(rng, 1, 5), COMMAND_CENTRE)
        h.step(
            NeedAction.MERGE, h.last_at + _minutes(rng, 1, 5), COMMAND_CENTRE, "重复上报，合并处理"
        )
        lat, lon = _near(rng, orig.lat, orig.lon, 0.0008)
        return _NeedSpec(
            source=NeedSource.RESIDENT_APP,
            category=orig.category,
            tier=orig.tier,
            grid=orig.grid,
            reported_at=reported,
            history=h,
            title=orig.title,
            reporter_name=name,
            reporter_phone=phone,
            headcount=orig.headcount,
            duration=orig.duration,
            urgency=orig.urgency,
            compound_id=orig.compound_id,
            lat=lat,
            lon=lon,
            address=orig.address,
            description=orig.description,
            duplicate_of=orig,
            merged_into=orig,
        )

    def duration_for(self, tier: NeedTier) -> int:
        lo, hi = {
            NeedTier.ORDINARY: (15, 30),
            NeedTier.COMPLEX: (30, 240),
            NeedTier.MAJOR: (60, 480),
        }[tier]
        return self.rng.randint(lo // 5, hi // 5) * 5

    def urgency_for(self, tier: NeedTier) -> int:
        lo, hi = {NeedTier.ORDINARY: (1, 3), NeedTier.COMPLEX: (2, 4), NeedTier.MAJOR: (4, 5)}[tier]
        return self.rng.randint(lo, hi)

    def media(self, source: NeedSource) -> list[str]:
        if (
            source in (NeedSource.RESIDENT_APP, NeedSource.TEAM_REPORT, NeedSource.GRID_PATROL)
            and self.rng.random() < 0.6
        ):
            return [f"{MEDIA_BASE}/{self.copy}/{self.rng.getrandbits(48):012x}.jpg"]
        return []

    def emit_needs(self, specs: list[_NeedSpec]) -> None:
        now = self.now
        events: list[tuple[datetime, int, int, dict[str, Any]]] = []
        for s in specs:
            h = s.history
            times: dict[NeedAction, datetime] = {}
            for action, _frm, _to, at, *_ in h.events:
                times[action] = at  # the latest of each action
            dispatched = (
                times.get(NeedAction.DISPATCH)
                if h.status not in (NeedStatus.REPORTED, NeedStatus.ACCEPTED, NeedStatus.MERGED)
                else None
            )
            deadlines = need_deadlines(s.tier, dispatched) if dispatched else None
            arrived = times.get(NeedAction.ARRIVE) if dispatched else None
            resolved = times.get(NeedAction.RESOLVE)
            closed = times.get(NeedAction.RATE) or times.get(NeedAction.CLOSE)
            self.add(
                "need",
                id=s.id,
                title=s.title,
                description=s.description,
                category=s.category,
                source=s.source,
                tier=s.tier,
                # A need booked for a visit (the backlog's 预约上门) is a scheduled service.
                kind=NeedKind.SCHEDULED if s.window else NeedKind.RESPONSE,
                status=h.status,
                urgency=s.urgency,
                community_id=s.grid.community_id,
                grid_id=s.grid.id,
                compound_id=s.compound_id,
                consultation_id=s.consultation_id,
                reporter_account_id=s.reporter_account_id,
                reporter_person_id=s.reporter_person_id,
                reporter_name=s.reporter_name,
                reporter_phone=s.reporter_phone,
                latitude=s.lat,
                longitude=s.lon,
                address=s.address,
                media_urls=s.media_urls,
                headcount=s.headcount,
                duration_minutes=s.duration,
                window_start=s.window[0] if s.window else None,
                window_end=s.window[1] if s.window else None,
                idempotency_key=None,
                duplicate_of_id=s.duplicate_of.id if s.duplicate_of else None,
                merged_into_id=s.merged_into.id if s.merged_into else None,
                reported_at=s.reported_at,
                accepted_at=times.get(NeedAction.ACCEPT),
                dispatched_at=dispatched,
                arrive_by=deadlines.arrive_by if deadlines else None,
                resolve_by=deadlines.resolve_by if deadlines else None,
                arrived_at=arrived,
                resolved_at=resolved,
                closed_at=closed,
                satisfaction=s.satisfaction,
                rating_comment=s.rating_comment,
                version=len(h.events),
                updated_at=h.last_at,
            )
            for skill_id in s.skills:
                self.add("need_skill", need_id=s.id, skill_id=skill_id)
            for kind, qty in s.resources:
                self.add("need_resource", need_id=s.id, kind=kind, quantity=qty)
            for person_id, team_id, resource_id, qty, active, at in s.assignments:
                self.add(
                    "need_assignment",
                    need_id=s.id,
                    person_id=person_id,
                    team_id=team_id,
                    resource_id=resource_id,
                    quantity=qty,
                    active=active,
                    assigned_at=at,
                    assigned_by_account_id=None,
                )
            for seq, (action, frm, to, at, actor, note, data, account) in enumerate(h.events):
                assert at < now
                events.append(
                    (
                        at,
                        s.id,
                        seq,
                        {
                            "need_id": s.id,
                            "action": action,
                            "from_status": frm,
                            "to_status": to,
                            "actor_account_id": account,
                            "actor_name": actor[:64],
                            "note": note,
                            "data": data,
                            "at": at,
                        },
                    )
                )
        events.sort(key=lambda e: (e[0], e[1], e[2]))
        for *_, values in events:
            self.add("need_event", **values)
