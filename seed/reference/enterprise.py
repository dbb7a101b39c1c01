"""Builds enterprises, their requests with histories, and the business weather station."""

from __future__ import annotations

from datetime import datetime, timedelta

from schema.enums import EnterpriseAction, EnterpriseRequestKind, EnterpriseRequestStatus
from schema.sla import ENTERPRISE_RESOLVE_WITHIN, enterprise_deadline
from seed import vocab
from seed.figures import REFERENCE
from seed.identity import credit_code
from seed.reference.accounts import _AccountsBuilder
from seed.reference.draws import DEMO_ACCOUNTS, WEATHER_STATION, _minutes, _near, _pick
from seed.reference.history import _History
from seed.reference.tables import Row


class _EnterpriseBuilder(_AccountsBuilder):
    """Enterprises, their requests and the business weather station (营商气象站)."""

    # ---- enterprises and the business weather station (营商气象站)
    def build_enterprises(self) -> None:
        rng = self.rng
        park = self.urban[10]
        self.enterprises: list[Row] = []
        used: set[str] = set()
        for _ in range(320):
            industry = _pick(rng, vocab.ENTERPRISE_INDUSTRIES)
            while True:
                brand = _pick(rng, vocab.ENTERPRISE_BRANDS) + _pick(rng, vocab.ENTERPRISE_BRANDS)
                name = f"吉安县{brand}{industry}有限公司"
                if name not in used and brand[0] != brand[1]:
                    used.add(name)
                    break
            r = rng.random()
            community = (
                park
                if r < 0.45
                else _pick(rng, self.urban)
                if r < 0.7
                else _pick(rng, self.villages)
            )
            lat, lon = _near(rng, community["latitude"], community["longitude"], 0.01)
            serial = self.ids.peek("enterprise")
            self.enterprises.append(
                self.add(
                    "enterprise",
                    name=name + self.sfx,
                    credit_code=credit_code(serial),
                    industry=industry,
                    community_id=community["id"],
                    contact_name=self.name(),
                    contact_phone=self.phone(),
                    latitude=lat,
                    longitude=lon,
                )
            )

        kinds = list(EnterpriseRequestKind)
        kind_weights = (22, 16, 12, 6, 14, 12, 10, 8)
        by_kind: dict[EnterpriseRequestKind, list[Row]] = {k: [] for k in kinds}
        for h in self.helpers:
            for k in self.helper_kinds[h["id"]]:
                by_kind[k].append(h)
        n_total = REFERENCE.enterprise_requests
        n_open = REFERENCE.open_enterprise_requests
        n_resolved = 15
        statuses = (
            [EnterpriseRequestStatus.SUBMITTED] * 12
            + [EnterpriseRequestStatus.ASSIGNED] * 18
            + [EnterpriseRequestStatus.IN_PROGRESS] * (n_open - 30)
            + [EnterpriseRequestStatus.RESOLVED] * n_resolved
            + [EnterpriseRequestStatus.CLOSED] * (n_total - n_open - n_resolved)
        )
        load: dict[int, int] = {h["id"]: 0 for h in self.helpers}
        demo_helper = self.helpers[0]["id"]
        # The demo helper carries two fresh open requests of a kind they handle, below their
        # limit of three: room to claim one (抢单). No other open request goes to them.
        demo_open = (12, 30)
        helper_account = self.account_ids.get("demo-helper")
        specs = []
        for i, final in enumerate(statuses):
            kind = rng.choices(kinds, kind_weights)[0]
            if final is EnterpriseRequestStatus.SUBMITTED:
                submitted = self.ago(0.05, 3)
            elif final in (EnterpriseRequestStatus.ASSIGNED, EnterpriseRequestStatus.IN_PROGRESS):
                submitted = self.ago(0.5, 20)
            elif final is EnterpriseRequestStatus.RESOLVED:
                submitted = self.ago(4, 15)
            else:
                submitted = self.ago(25, 364)
            if i in demo_open:  # the kind they handle with the most time: not overdue at once
                kind = max(
                    self.helper_kinds[demo_helper], key=ENTERPRISE_RESOLVE_WITHIN.__getitem__
                )
                submitted = self.now - timedelta(hours=3 + i % 5)
            specs.append((submitted, kind, final, i))
        specs.sort(key=lambda s: (s[0], s[3]))
        events: list[tuple[datetime, int, int, Row]] = []
        finals: dict[int, list[EnterpriseRequestStatus]] = {}
        for submitted, kind, final, i in specs:
            enterprise = _pick(rng, self.enterprises)
            finals.setdefault(enterprise["id"], []).append(final)
            deadline = enterprise_deadline(kind, submitted)
            hist = _History.submitted(submitted, enterprise["contact_name"])
            helper: Row | None = None
            assigned_at: datetime | None = None
            resolved_at: datetime | None = None
            closed_at: datetime | None = None
            satisfaction = None
            comment = ""
            if final is not EnterpriseRequestStatus.SUBMITTED:
                if i in demo_open:
                    helper = self.helpers[0]
                else:
                    pool = by_kind[kind]
                    if final in (
                        EnterpriseRequestStatus.ASSIGNED,
                        EnterpriseRequestStatus.IN_PROGRESS,
                    ):
                        pool = [
                            h
                            for h in pool
                            if load[h["id"]] < h["max_open_requests"] and h["id"] != demo_helper
                        ] or pool
                    helper = _pick(rng, pool)
                open_now = final in (
                    EnterpriseRequestStatus.ASSIGNED,
                    EnterpriseRequestStatus.IN_PROGRESS,
                )
                if open_now:
                    load[helper["id"]] += 1
                latest = self.now - timedelta(minutes=30)
                assigned_at = min(submitted + _minutes(rng, 30, 24 * 60), latest)
                account = helper_account if helper["id"] == demo_helper else None
                hist.step(
                    EnterpriseAction.ASSIGN,
                    assigned_at,
                    WEATHER_STATION,
                    f"分派给小赣事{helper['name']}",
                    {"helper_id": helper["id"]},
                )
                assigned_at = hist.last_at
                if final is not EnterpriseRequestStatus.ASSIGNED:
                    on_time = rng.random() < 0.93
                    if final is EnterpriseRequestStatus.IN_PROGRESS:
                        end = self.now - timedelta(minutes=5)
                    elif on_time:
                        end = max(deadline, assigned_at + timedelta(hours=2))
                    else:
                        end = deadline + _minutes(rng, 60, 5 * 24 * 60)
                    span = max((end - assigned_at).total_seconds(), 120)
                    if final is EnterpriseRequestStatus.RESOLVED:
                        end = min(end, self.now - timedelta(hours=2))
                        span = max((end - assigned_at).total_seconds(), 120)
                    notes = sorted(rng.uniform(0.05, 0.6) * span for _ in range(rng.randint(1, 3)))
                    for off in notes:
                        hist.step(
                            EnterpriseAction.NOTE,
                            assigned_at + timedelta(seconds=int(off)),
                            helper["name"],
                            "已联系企业，正在协调相关部门办理",
                            account=account,
                        )
                    if final is not EnterpriseRequestStatus.IN_PROGRESS:
                        at = assigned_at + timedelta(seconds=int(rng.uniform(0.65, 1.0) * span))
                        hist.step(
                            EnterpriseAction.RESOLVE,
                            at,
                            helper["name"],
                            "诉求已办结，企业确认",
                            account=account,
                        )
                        resolved_at = hist.last_at
                if final is EnterpriseRequestStatus.CLOSED:
                    assert resolved_at is not None  # a closed request was resolved first
                    satisfaction = rng.choices((5, 4, 3, 2), (70, 26, 3, 1))[0]
                    comment = "服务贴心，办事高效" if satisfaction >= 4 else "办理周期偏长"
                    at = min(
                        resolved_at + _minutes(rng, 60, 5 * 24 * 60), self.now - timedelta(hours=1)
                    )
                    hist.step(
                        EnterpriseAction.RATE,
                        at,
                        enterprise["contact_name"],
                        comment,
                        {"satisfaction": satisfaction},
                    )
                    closed_at = hist.last_at
            assert hist.status is final
            rid = self.ids.next("enterprise_request")
            title = f"{enterprise['name']}：{_pick(rng, vocab.ENTERPRISE_ISSUES[kind])}"
            self.add(
                "enterprise_request",
                id=rid,
                enterprise_id=enterprise["id"],
                kind=kind,
                title=title,
                description=f"{enterprise['contact_name']}通过营商气象站反映：{title}。",
                status=final,
                urgency=rng.choices((1, 2, 3, 4, 5), (5, 20, 45, 20, 10))[0],
                helper_id=helper["id"] if helper else None,
                submitted_by_account_id=None,
                idempotency_key=None,
                submitted_at=submitted,
                assigned_at=assigned_at,
                deadline=deadline,
                resolved_at=resolved_at,
                closed_at=closed_at,
                satisfaction=satisfaction,
                rating_comment=comment,
                version=len(hist.events),
                updated_at=hist.last_at,
            )
            for seq, (action, frm, to, at, actor, note, data, account) in enumerate(hist.events):
                events.append(
                    (
                        at,
                        rid,
                        seq,
                        {
                            "request_id": rid,
                            "action": action,
                            "from_status": frm,
                            "to_status": to,
                            "actor_account_id": account,
                            "actor_name": actor,
                            "note": note,
                            "data": data,
                            "at": at,
                        },
                    )
                )
        events.sort(key=lambda e: (e[0], e[1], e[2]))
        for *_, values in events:
            self.add("enterprise_request_event", **values)
        self.demo_enterprise = self._pick_demo_enterprise(park["id"], finals)

    def _pick_demo_enterprise(
        self, park_id: int, finals: dict[int, list[EnterpriseRequestStatus]]
    ) -> Row:
        """The demo enterprise (demo-enterprise's): in the industrial park (工业园社区, outside the
        泉塘 coordinator's area), with a resolved request waiting for its rating and the most
        history among such."""
        resolved = EnterpriseRequestStatus.RESOLVED
        candidates = [
            e
            for e in self.enterprises
            if e["community_id"] == park_id and resolved in finals.get(e["id"], [])
        ]
        return max(candidates, key=lambda e: (len(finals[e["id"]]), -e["id"]))

    def build_enterprise_account(self) -> None:
        """The demo enterprise's own account (copy 0 only): it follows and rates its requests."""
        if self.copy != 0:
            return
        firm = self.demo_enterprise
        role = dict(DEMO_ACCOUNTS)["demo-enterprise"]
        self._demo_account("demo-enterprise", role, firm["contact_name"], None, None, firm["id"])
