"""The reference county: a deterministic generator of plain row dicts, one list per table.

`generate_reference()` returns every table's rows (column name -> value) in foreign-key order,
with ids assigned here so that rows reference each other without database round-trips.
`iter_reference()` yields the same thing one county copy at a time (scale N = N copies), so that
a large synthetic county never has to sit in memory whole.

Everything is drawn from `random.Random` and a seeded `Faker('zh_CN')`, and every time is
computed from a fixed `now` (REFERENCE_NOW), so two runs give identical rows; the only exception
is the demo accounts' password hash (argon2 salts it), which callers may pin with
`password_hash=`. Copy 0 of a scaled county is the reference county itself; copies 1..N-1 are
synthetic counties with their own random draws and names suffixed "-2", "-3" … so that every
unique constraint holds. Skills and the demo accounts exist once, in copy 0.

The open backlog is drawn against the people who can serve it, by the reach rules matching
enforces (`matching.travel`): each need waiting for people is booked at a time when someone within
its tier's reach is free, and calls for skills somebody nearby holds (or none), so that a matching
job on the reference county fills most seats while volunteers still compete for their hours.

Layout: `tables` (row templates, ids), `draws` (fixed figures, seeded random helpers), `history`
(workflow-checked histories), `specs` and `servers` (needs before they are rows, who serves them),
`base` (one copy's state), one builder per concern (`areas`, `people`, `teams`, `accounts`,
`enterprise`, `needs`, `backlog`, `activities`), `county` (the build order) and `generate`.
"""

from seed.reference.draws import DEMO_ACCOUNTS, demo_password_hash
from seed.reference.generate import (
    gc_paused,
    generate_reference,
    iter_reference,
    row_counts,
    tables_digest,
)
from seed.reference.tables import TABLE_ORDER, Row, Tables

__all__ = [
    "DEMO_ACCOUNTS",
    "TABLE_ORDER",
    "Row",
    "Tables",
    "demo_password_hash",
    "gc_paused",
    "generate_reference",
    "iter_reference",
    "row_counts",
    "tables_digest",
]
