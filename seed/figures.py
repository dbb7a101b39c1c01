"""The article's figures, as the reference county reproduces them.

The article (吉安县委组织部, "党建为笔民心为墨 绘就'庐陵善治'新蓝图") gives round figures
("30余名", "1.2万余件", "满意率超过95%"). The reference data set needs exact numbers, so each
"N+" figure is pinned here to one concrete value above N; `ARTICLE_FLOORS` keeps the article's own
words so tests can check both. Every count is over the reference county (scale 1).

How each figure is counted (the SQL the tests run, and what the API should run):

- paired_units: every `paired_unit` row. The 8 property companies (物业公司, kind
  `property_company`) are *within* the 159: 151 government bodies, enterprises and institutions
  plus 8 property companies; one of the 8 is the state-owned fallback (`is_state_owned`).
- party_members: `person.kind = 'party_member'`. `is_party_member` is true for exactly these
  people, so counting either column gives 3,500.
- urban_grids / rural_grids: `grid.kind`.
- service_stations / village_venues / elder_care_sites: `venue.kind`. Each of the 37 compounds
  (`compound`) has exactly one service station; every one lists >= 30 services.
- volunteer_teams (the 7 new-business 吉先锋 teams): `team.kind` in (new_business, ant_action,
  food_safety, live_streaming). The helpers' squad (help_squad) is the only other team.
- team_problems_solved: needs in status resolved/closed with a `need_assignment.team_id`.
- hotline: needs with source hotline_12345 reported in the year before `REFERENCE_NOW`; the
  satisfaction share is satisfied (rating >= 4) over rated tickets.
- Quantang's handled requests: closed needs of 泉塘社区 with source resident_app (the "吹哨报到"
  platform); its suggestions are the needs with source sentinel_post (all in 泉塘社区). Every other
  rated need in 泉塘社区 is satisfied, so any way of computing Quantang's share stays above 95%.
- activities: finished activities that started in the year; person_times: their sign-ups
  checked out (with service minutes).
- open needs: status in (reported, accepted, dispatched, arrived); open enterprise requests:
  status in (submitted, assigned, in_progress).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

# The reference "now": the year of needs ends here and the backlog is open at this moment.
# Fixed, never the wall clock, so that every run produces the same rows.
REFERENCE_NOW = datetime(2026, 11, 28, 0, 0, tzinfo=UTC)

# The random seed of the reference county.
REFERENCE_SEED = 20_261_128

# Every demo account's password (local use only; production refuses to start while they exist).
DEMO_PASSWORD = "luling-demo"

QUANTANG = "泉塘社区"
YANJINGFU = "燕京府小区"
HENGXI = "横溪村"
COUNTY_SEAT = "敦厚镇"


@dataclass(frozen=True)
class ReferenceFigures:
    # Areas
    townships: int = 19
    urban_communities: int = 12
    villages: int = 284
    urban_grids: int = 106
    rural_grids: int = 1869
    compounds: int = 37
    service_stations: int = 37
    station_services_min: int = 30
    village_venues: int = 284
    elder_care_sites: int = 268
    # Units
    paired_units: int = 159
    property_companies: int = 8  # within paired_units, all with a party organisation
    state_owned_property_companies: int = 1  # the fallback (兜底) company, one of the 8
    red_property_compounds: int = 5
    # People
    party_members: int = 3500
    cadres: int = 11
    enterprise_helpers: int = 112
    # Teams
    volunteer_teams: int = 7  # the new-business 吉先锋 teams
    new_business_teams: int = 7
    ant_action_riders: int = 32
    food_safety_monitors: int = 167
    live_streamers: int = 8
    live_stream_sales_yuan: int = 526_800
    team_problems_solved: int = 245
    # Enterprise requests (营商气象站)
    enterprise_requests: int = 477
    open_enterprise_requests: int = 56
    # A year of needs
    hotline_tickets_rated: int = 12_030
    hotline_tickets_satisfied: int = 11_800
    hotline_satisfaction_pct: float = 98.09
    quantang_requests_handled: int = 216
    quantang_requests_satisfied: int = 207
    sentinel_suggestions: int = 64
    consultations: int = 46
    disputes_settled: int = 73
    # Volunteer activities ("1+6+12+N", 义善庐陵)
    activities: int = 268
    activity_signups: int = 32_400
    activity_person_times: int = 30_150
    # The open backlog for matching
    open_needs: int = 3000
    open_needs_ordinary: int = 2100
    open_needs_complex: int = 750
    open_needs_major: int = 150

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


REFERENCE = ReferenceFigures()

# The article's own wording: "N余" / "超过" become lower bounds (strictly above where it says so).
ARTICLE_FLOORS: dict[str, int] = {
    "paired_units": 159,
    "party_members": 3500,
    "urban_grids": 106,
    "rural_grids": 1869,
    "service_stations": 37,
    "village_venues": 284,
    "elder_care_sites": 268,
    "cadres": 11,
    "enterprise_helpers": 112,
    "new_business_teams": 7,
    "ant_action_riders": 30,
    "food_safety_monitors": 167,
    "live_streamers": 8,
    "live_stream_sales_yuan": 500_000,
    "team_problems_solved": 245,
    "enterprise_requests": 477,
    "hotline_tickets": 12_000,
    "quantang_requests_handled": 200,
    "sentinel_suggestions": 60,
    "consultations": 46,
    "disputes_settled": 70,
    "activities": 260,
    "activity_person_times": 30_000,
    "property_companies": 8,
    "red_property_compounds": 5,
}

# Satisfaction the article reports: hotline exactly 98.09 %, Quantang above 95 %.
HOTLINE_SATISFACTION_PCT = 98.09
QUANTANG_SATISFACTION_ABOVE_PCT = 95.0

# Reported by the article but not stored row by row (900,000+ "一表同享" registry records would
# dominate the load time); the reference county seeds no registry_record rows.
ARTICLE_REGISTRY_RECORDS = 900_000
