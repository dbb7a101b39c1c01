"""Builds volunteer activities and their sign-ups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from schema.enums import ServiceLevel, SignUpStatus
from seed import vocab
from seed.figures import REFERENCE
from seed.reference.backlog import _BacklogBuilder
from seed.reference.draws import LOCAL_OFFSET, _allocate, _local_slot, _minutes, _near, _pick
from seed.reference.tables import Row

ACTIVITY_HOURS = (8, 21)  # local hours between which activities run


class _ActivitiesBuilder(_BacklogBuilder):
    """Volunteer activities ("1+6+12+N" 志愿服务体系, 义善庐陵) and their sign-ups, and the
    community-level organisers of that system."""

    # ---- organisers: each community's 新时代文明实践站 at the `N` level (no draws: the rest of
    # the county stays as it was). The article names the system by its counts only, so the
    # county-wide CENTRE, SIX and TWELVE are left for the county office to register.
    def build_organisers(self) -> None:
        for community in self.communities:
            self.add(
                "service_organiser",
                name=f"{community['name']}新时代文明实践站",
                level=ServiceLevel.N,
                community_id=community["id"],
                created_at=self.now,
            )

    # ---- volunteer activities ("1+6+12+N" 志愿服务体系, 义善庐陵)
    def build_activities(self) -> None:
        rng = self.rng
        volunteers = (
            [m["id"] for m in self.members] + [c["id"] for c in self.cadres] + self.team_member_ids
        )
        local: dict[int, list[int]] = {}
        for pid, cid in ((m["id"], m["registered_community_id"]) for m in self.members):
            local.setdefault(cid, []).append(pid)
        team_by_theme = {"义善庐陵·爱心助农直播": self.teams[2][0]["id"]}
        n_done = REFERENCE.activities
        # Today's local date at 00:00 "UTC": `_local_slot` turns it and a local minute into UTC.
        day0 = (self.now + LOCAL_OFFSET).replace(hour=0, minute=0, second=0, microsecond=0)
        local_hour = (self.now + LOCAL_OFFSET).hour

        def place() -> tuple[Row, Row | None]:
            community = _pick(rng, self.urban) if rng.random() < 0.6 else _pick(rng, self.villages)
            venues = self.venues_by_community.get(community["id"], [])
            return community, (_pick(rng, venues) if venues else None)

        plans: list[dict[str, Any]] = []
        yjf_station = next(
            v
            for v in self.venues_by_community[self.quantang["id"]]
            if v["compound_id"] == self.compounds[0]["id"]
        )
        # Finished in the year: the first one is 燕京府小区's New Year's Day gathering.
        for i in range(n_done):
            theme, skills = _pick(rng, vocab.ACTIVITY_THEMES)
            community, venue = place()
            start = _local_slot(
                day0 - timedelta(days=rng.randint(3, 362)),
                rng.choice((8, 9, 9, 14, 15, 19)) * 60 + rng.choice((0, 30)),
            )
            if i == 0:
                theme, skills = "邻里同心·元旦启新", ("performance",)
                community, venue = self.quantang, yjf_station
                year = (self.now + LOCAL_OFFSET).year
                start = datetime(year, 1, 1, 1, 30, tzinfo=UTC)  # 09:30 local on New Year's Day
                if start > self.now - timedelta(days=2):
                    start = start.replace(year=year - 1)
            plans.append(
                {
                    "theme": theme,
                    "skills": skills,
                    "community": community,
                    "venue": venue,
                    "start": start,
                    "status": "finished",
                }
            )
        for _ in range(4):
            theme, skills = _pick(rng, vocab.ACTIVITY_THEMES)
            community, venue = place()
            start = _local_slot(day0 - timedelta(days=rng.randint(3, 300)), 9 * 60)
            plans.append(
                {
                    "theme": theme,
                    "skills": skills,
                    "community": community,
                    "venue": venue,
                    "start": start,
                    "status": "cancelled",
                }
            )
        for _ in range(2):
            theme, skills = _pick(rng, vocab.ACTIVITY_THEMES)
            community, venue = place()
            # Under way if the county is awake (activities run 08:00-21:00), else the first
            # thing in the morning.
            awake = ACTIVITY_HOURS[0] + 1 <= local_hour < ACTIVITY_HOURS[1] - 1
            morning = day0 + timedelta(days=0 if local_hour < ACTIVITY_HOURS[0] else 1)
            plans.append(
                {
                    "theme": theme,
                    "skills": skills,
                    "community": community,
                    "venue": venue,
                    "start": self.now - timedelta(hours=1)
                    if awake
                    else _local_slot(morning, 9 * 60),
                    "status": "ongoing" if awake else "planned",
                }
            )
        for _ in range(24):
            theme, skills = _pick(rng, vocab.ACTIVITY_THEMES)
            community, venue = place()
            start = _local_slot(
                day0 + timedelta(days=rng.randint(1, 40)), rng.choice((9, 14, 19)) * 60
            )
            plans.append(
                {
                    "theme": theme,
                    "skills": skills,
                    "community": community,
                    "venue": venue,
                    "start": start,
                    "status": "planned",
                }
            )

        per = _allocate(REFERENCE.activity_signups, [rng.uniform(0.4, 1.6) for _ in range(n_done)])
        statuses = (
            [SignUpStatus.CHECKED_OUT] * REFERENCE.activity_person_times
            + [SignUpStatus.SIGNED_UP] * 1250
            + [SignUpStatus.CANCELLED]
            * (REFERENCE.activity_signups - REFERENCE.activity_person_times - 1250)
        )
        rng.shuffle(statuses)
        status_iter = iter(statuses)
        for i, p in enumerate(plans):
            community, venue = p["community"], p["venue"]
            hours = rng.choice((1, 2, 2, 3, 4))
            start = p["start"]
            # Done by 21:00 local: an evening activity lasts an hour or two.
            hours = max(1, min(hours, ACTIVITY_HOURS[1] - (start + LOCAL_OFFSET).hour - 1))
            if p["status"] == "ongoing":
                hours = 2  # started an hour ago, an hour to go
            end = start + timedelta(hours=hours)
            if p["status"] == "finished":
                n_sign = per[i]
                capacity = n_sign + rng.randint(0, 40)
            elif p["status"] == "planned":
                capacity = rng.randint(20, 80)
                n_sign = rng.randint(0, int(capacity * 0.6))
            elif p["status"] == "ongoing":
                capacity = rng.randint(20, 60)
                n_sign = rng.randint(10, 20)
            else:
                capacity, n_sign = rng.randint(20, 60), 0
            title = (
                p["theme"]
                if p["theme"] == "邻里同心·元旦启新"
                else f"{community['name']}{p['theme']}"
            )
            at = venue or community
            lat, lon = _near(rng, at["latitude"], at["longitude"], 0.0005)
            activity = self.add(
                "activity",
                title=title,
                description=f"“义善庐陵”志愿服务：{p['theme']}，欢迎在职党员和志愿者报名参加。",
                community_id=community["id"],
                venue_id=venue["id"] if venue else None,
                organiser_team_id=team_by_theme.get(p["theme"]),
                status=p["status"],
                starts_at=start,
                ends_at=end,
                capacity=capacity,
                latitude=lat,
                longitude=lon,
                created_at=start - timedelta(days=rng.randint(3, 20)),
            )
            for code in p["skills"]:
                self.add(
                    "activity_skill", activity_id=activity["id"], skill_id=self.skill_ids[code]
                )
            if n_sign == 0:
                continue
            near = local.get(community["id"], [])
            k_local = min(len(near), n_sign // 2)
            chosen = rng.sample(near, k_local)
            taken = set(chosen)
            while len(chosen) < n_sign:
                pid = _pick(rng, volunteers)
                if pid not in taken:
                    taken.add(pid)
                    chosen.append(pid)
            for pid in chosen:
                signed = min(
                    start - _minutes(rng, 60, 10 * 24 * 60), self.now - timedelta(minutes=5)
                )
                checked_in = checked_out = None
                minutes = None
                if p["status"] == "finished":
                    status = next(status_iter)
                    if status is SignUpStatus.SIGNED_UP:  # never came: the clock's no-show
                        status = SignUpStatus.NO_SHOW
                elif p["status"] == "ongoing":
                    status = SignUpStatus.CHECKED_IN
                else:
                    status = SignUpStatus.SIGNED_UP
                if status in (SignUpStatus.CHECKED_IN, SignUpStatus.CHECKED_OUT):
                    checked_in = start + _minutes(rng, -15, 20)
                    if checked_in >= self.now:
                        checked_in = self.now - timedelta(minutes=1)
                if status is SignUpStatus.CHECKED_OUT:
                    assert checked_in is not None
                    checked_out = end + _minutes(rng, -20, 15)
                    minutes = int((checked_out - checked_in).total_seconds() // 60)
                self.add(
                    "sign_up",
                    person_id=pid,
                    activity_id=activity["id"],
                    need_id=None,
                    status=status,
                    signed_up_at=signed,
                    checked_in_at=checked_in,
                    checked_out_at=checked_out,
                    minutes=minutes,
                )
        assert next(status_iter, None) is None
