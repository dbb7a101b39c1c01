"""The closed loop of residents' needs: report → accept → dispatch → arrive → resolve → rate.

Every function takes the version the caller read (`expected_version`, or the one read here when
None), decides the step with `schema.workflow`, updates the need with a version check and adds
its `NeedEvent` in the caller's transaction.

Layout: `limits` (sizes, sources by role), `shared` (steps every service shares), `location`
(grid, community, duplicates nearby), `report`, `dispatch` (accept, resources, people),
`steps` (arrive, resolve, rate, escalate, return) and `merge`.
"""

from schema.services.needs.dispatch import accept_need, allocate_resources, dispatch_need
from schema.services.needs.limits import (
    ADDRESS_MAX,
    DESCRIPTION_MAX,
    DISPATCH_MAX_PEOPLE,
    KEY_MAX,
    MEDIA_MAX,
    MEDIA_URL_MAX,
    MERGE_MAX,
    NOTE_MAX,
    PHONE_MAX,
    SOURCES_BY_ROLE,
    TITLE_MAX,
)
from schema.services.needs.location import find_duplicate, nearest_grid
from schema.services.needs.merge import merge_needs
from schema.services.needs.report import LinkedOrigin, report_need
from schema.services.needs.shared import get_need, is_assignee
from schema.services.needs.steps import (
    arrive_need,
    escalate_need,
    rate_need,
    resolve_need,
    return_need,
)

__all__ = [
    "ADDRESS_MAX",
    "DESCRIPTION_MAX",
    "DISPATCH_MAX_PEOPLE",
    "KEY_MAX",
    "MEDIA_MAX",
    "MEDIA_URL_MAX",
    "MERGE_MAX",
    "NOTE_MAX",
    "PHONE_MAX",
    "SOURCES_BY_ROLE",
    "TITLE_MAX",
    "LinkedOrigin",
    "accept_need",
    "allocate_resources",
    "arrive_need",
    "dispatch_need",
    "escalate_need",
    "find_duplicate",
    "get_need",
    "is_assignee",
    "merge_needs",
    "nearest_grid",
    "rate_need",
    "report_need",
    "resolve_need",
    "return_need",
]
