"""`DateTime` as the API reads it: ISO 8601 with an offset, within years the county's data can
hold.

Strawberry's own scalar takes any year from 1 to 9999; `9999-12-31T23:59:59-14:00` then
overflows the moment a filter turns it into UTC, and the client gets an unexpected error
(INTERNAL) instead of being told its input is wrong. This one refuses such input while
coercing it, as graphql-core does with any bad value, so it is a coded client error on every
argument and input field that takes a time (any offset; none means the county's local time).
Output is ISO 8601 in Asia/Shanghai time with its offset (+08:00).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NewType

import dateutil.parser
import strawberry
from strawberry.schema.types.base_scalars import wrap_parser

from schema.base import LOCAL_ZONE

EARLIEST, LATEST = 1900, 2199  # years a time may name


def parse_datetime(value: str) -> datetime:
    parsed = dateutil.parser.isoparse(value)
    if not EARLIEST <= parsed.year <= LATEST:
        raise ValueError(f"the year must be between {EARLIEST} and {LATEST}")
    if parsed.tzinfo is not None:
        parsed.astimezone(UTC)  # an offset that pushes it past the range raises here
    return parsed


def _isoformat(value: datetime) -> str:
    """Times are stored in UTC and answered in the county's local time, with the offset."""
    return (value.astimezone(LOCAL_ZONE) if value.tzinfo is not None else value).isoformat()


DateTime = strawberry.scalar(
    NewType("DateTime", datetime),
    name="DateTime",
    description="Date with time (isoformat)",
    serialize=_isoformat,
    parse_value=wrap_parser(parse_datetime, "DateTime", exceptions=(ValueError, OverflowError)),
)

SCALAR_OVERRIDES: dict[object, object] = {datetime: DateTime}
