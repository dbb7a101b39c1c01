"""Limits on what a report or a step may carry, and which sources each role may claim."""

from __future__ import annotations

import re

from schema.enums import NeedSource, Role

# Shared with the enterprise loop; re-exported for the needs modules.
from schema.services.common import DESCRIPTION_MAX as DESCRIPTION_MAX
from schema.services.common import KEY_MAX as KEY_MAX
from schema.services.common import NOTE_MAX as NOTE_MAX
from schema.services.common import TITLE_MAX as TITLE_MAX

ADDRESS_MAX = 200
MEDIA_MAX = 9
MEDIA_URL_MAX = 500
PHONE_MAX = 20
DISPATCH_MAX_PEOPLE = 50
MERGE_MAX = 50
_MEDIA_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
_PHONE = re.compile(r"^\+?[0-9][0-9\- ]{2,19}$")
_METRES_PER_DEGREE = 111_320.0

# Which sources each role may claim: residents blow the whistle from the app, team members also
# report for their team; hotline, sentinel-post, patrol and consultation tickets come from staff.
_SELF_SOURCES = frozenset({NeedSource.RESIDENT_APP, NeedSource.TEAM_REPORT})
SOURCES_BY_ROLE: dict[Role, frozenset[NeedSource]] = {
    Role.RESIDENT: frozenset({NeedSource.RESIDENT_APP}),
    Role.VOLUNTEER: _SELF_SOURCES,
    Role.ENTERPRISE_HELPER: _SELF_SOURCES,
    # An enterprise or the business office reports a problem as anyone in the county would.
    Role.ENTERPRISE: frozenset({NeedSource.RESIDENT_APP}),
    Role.BUSINESS_OFFICE: frozenset({NeedSource.RESIDENT_APP}),
    Role.GRID_WORKER: frozenset(NeedSource),
    Role.COORDINATOR: frozenset(NeedSource),
    Role.ADMIN: frozenset(NeedSource),
}
# A visit's length in minutes (the need table's CHECK), and the length when a report names none.
DURATION_RANGE = (5, 1440)
DEFAULT_DURATION_MINUTES = 60
