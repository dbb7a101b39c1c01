"""Column helpers shared by every table: UTC timestamps, labelled enums, JSON lists."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

# Stable constraint names, so Alembic autogenerate and both databases agree on them.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Ji'an County's bounding box (吉安县, around 27.0°N 114.9°E): coordinates outside are refused.
COUNTY_LAT = (26.55, 27.45)
COUNTY_LON = (114.45, 115.35)
REFERENCE_COUNTY = "吉安县"

# A province of several counties (`luling seed --counties N`): county k lies in the reference
# county's box moved by `county_offset(k)`, ten to a row. The pitch leaves 0.6° (over 50 km)
# between neighbouring boxes: farther than any need's reach (the matcher's two hours by car,
# about 44 km), so a county's needs are never in reach of another county's people and counties
# can be matched apart. Every stored point lies in the province's box (the CHECK below).
COUNTIES_PER_ROW = 10
COUNTY_PITCH_DEG = 1.5
PROVINCE_ROWS = 10
PROVINCE_LAT = (COUNTY_LAT[0], round(COUNTY_LAT[1] + (PROVINCE_ROWS - 1) * COUNTY_PITCH_DEG, 2))
PROVINCE_LON = (COUNTY_LON[0], round(COUNTY_LON[1] + (COUNTIES_PER_ROW - 1) * COUNTY_PITCH_DEG, 2))


def county_offset(index: int) -> tuple[float, float]:
    """(Δlat, Δlon) of the province's county number `index` (0: the reference county)."""
    if not 0 <= index < COUNTIES_PER_ROW * PROVINCE_ROWS:
        raise ValueError(f"a province holds at most {COUNTIES_PER_ROW * PROVINCE_ROWS} counties")
    row, column = divmod(index, COUNTIES_PER_ROW)
    return row * COUNTY_PITCH_DEG, column * COUNTY_PITCH_DEG


def county_name(index: int) -> str:
    """The name of the province's county number `index`: the reference county, then copies."""
    return REFERENCE_COUNTY if index == 0 else f"{REFERENCE_COUNTY}-{index + 1}"


def county_index(name: str) -> int | None:
    """The number of the province's county called `name` (`county_name`'s inverse), or None."""
    if name == REFERENCE_COUNTY:
        return 0
    head, _, number = name.rpartition("-")
    if head != REFERENCE_COUNTY or not number.isdigit() or number.startswith("0"):
        return None
    index = int(number) - 1
    return index if 1 <= index < COUNTIES_PER_ROW * PROVINCE_ROWS else None


# The county's clock: availability windows, activity times, "today" and period filters are
# read in local time, and the API answers with this offset.
LOCAL_ZONE = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(UTC)


def local_midnight(now: datetime) -> datetime:
    """The start of `now`'s day in the county ("today" on the dashboard), in UTC."""
    day = now.astimezone(LOCAL_ZONE).replace(hour=0, minute=0, second=0, microsecond=0)
    return day.astimezone(UTC)


def aware(value: datetime) -> datetime:
    """A time in aware UTC; a time without an offset is read as the county's local time."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=LOCAL_ZONE)
    return value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC and returns aware UTC: SQLite keeps no zone; naive values never leak."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; Luling stores aware UTC times only")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return aware_utc(value)


def aware_utc(value: datetime | None) -> datetime | None:
    """A stored (naive UTC) time as read back: aware UTC (`UTCDateTime`'s result rule)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC)


class LabelledEnum(str, enum.Enum):  # noqa: UP042  (StrEnum forbids tuple values)
    """A string enum whose members carry the Chinese label county staff use.

    Declared as ``MEMBER = ("value", "中文")``; ``.value`` is the stored string.
    """

    _value_: str
    label: str

    # `label` has a default only so that a lookup by value, `Kind("value")` (which Enum answers
    # without calling __new__), type-checks; every member is declared with its label.
    def __new__(cls, value: str, label: str = "") -> LabelledEnum:
        obj = str.__new__(cls, value)
        obj._value_ = value
        obj.label = label
        return obj

    def __str__(self) -> str:
        return self._value_


def enum_column(
    enum_cls: type[LabelledEnum], *, nullable: bool = False, check: str | None = None, **kw: Any
) -> sa.Column[Any]:
    """VARCHAR plus a CHECK constraint: portable, and Alembic diffs it cleanly on both databases.

    `check` names the constraint when one table has two columns of the same enum.
    """
    return sa.Column(
        sa.Enum(
            enum_cls,
            values_callable=lambda e: [m.value for m in e],
            native_enum=False,
            create_constraint=True,
            length=max(len(m.value) for m in enum_cls),
            name=check or enum_cls.__name__.lower(),
            validate_strings=True,
        ),
        nullable=nullable,
        **kw,
    )


def utc_column(*, nullable: bool = True, index: bool = False, **kw: Any) -> sa.Column[Any]:
    return sa.Column(UTCDateTime(), nullable=nullable, index=index, **kw)


def json_column(*, nullable: bool = False, **kw: Any) -> sa.Column[Any]:
    return sa.Column(sa.JSON(), nullable=nullable, **kw)


def in_county_check(
    lat: str = "latitude", lon: str = "longitude", *, nullable: bool = False
) -> sa.CheckConstraint:
    """A CHECK that keeps a point inside the province's counties (the reference county's box
    when there is one county); named after the columns it guards."""
    cond = (
        f"{lat} BETWEEN {PROVINCE_LAT[0]} AND {PROVINCE_LAT[1]} "
        f"AND {lon} BETWEEN {PROVINCE_LON[0]} AND {PROVINCE_LON[1]}"
    )
    if nullable:
        cond = f"({lat} IS NULL AND {lon} IS NULL) OR ({cond})"
    return sa.CheckConstraint(cond, name=f"{lat}_{lon}_in_county")
