"""The shared registry ("一表同享"): people, houses and enterprises from the county's source
systems, one row per natural key (ID number, house code, credit code).

`parse_row` turns one row of an office's file (CSV or XLSX, English or Chinese headers) into the
values stored, or says why it is refused. It is pure: the importer
(`schema/services/registry_import.py`) streams rows through it.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from schema.base import in_county_check, json_column, utc_column, utcnow
from schema.geo import held_counties
from schema.registry_rules import (
    coordinates_problem,
    credit_code_problem,
    decimal,
    id_number_problem,
    phone_problem,
)
from schema.text_rules import written_text_problem


class RegistryKind(enum.StrEnum):
    PERSON = "person"  # 人口
    HOUSE = "house"  # 房屋
    ENTERPRISE = "enterprise"  # 法人


# `luling import registry --kind people|houses|enterprises`
KIND_BY_NAME = {
    "people": RegistryKind.PERSON,
    "houses": RegistryKind.HOUSE,
    "enterprises": RegistryKind.ENTERPRISE,
}

NAME_MAX = 96
ADDRESS_MAX = 200
SOURCE_MAX = 32
SOURCE_KEY_MAX = 64
TEXT_MAX = 64  # free short fields kept in `data` (industry, use, legal representative)


class RegistryRecord(SQLModel, table=True):
    """One registry record; `natural_key` is the ID number, house code or credit code."""

    __tablename__ = "registry_record"
    __table_args__ = (
        sa.UniqueConstraint("kind", "natural_key"),
        sa.Index("ix_registry_record_source_source_key", "source", "source_key"),
        sa.Index("ix_registry_record_kind_name", "kind", "name"),
        in_county_check(nullable=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    natural_key: str = Field(max_length=32)
    name: str = Field(max_length=NAME_MAX)
    phone: str | None = Field(default=None, max_length=20)
    address: str = Field(default="", max_length=ADDRESS_MAX)
    community_id: int | None = Field(default=None, foreign_key="community.id", index=True)
    latitude: float | None = None
    longitude: float | None = None
    source: str = Field(max_length=SOURCE_MAX)
    source_key: str = Field(max_length=SOURCE_KEY_MAX)
    # Kind-specific extras: gender and birth date, floor area and use, industry and legal
    # representative.
    data: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    # Digest of the stored values: a re-import of the same row changes nothing.
    row_hash: str = Field(max_length=16)
    imported_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))


# Accepted headers: the canonical name and the Chinese one offices use.
HEADER_ALIASES: dict[str, str] = {
    "来源系统": "source",
    "来源编号": "source_key",
    "姓名": "name",
    "身份证号": "id_number",
    "公民身份号码": "id_number",
    "联系电话": "phone",
    "电话": "phone",
    "住址": "address",
    "地址": "address",
    "社区": "community",
    "所属社区": "community",
    "纬度": "latitude",
    "经度": "longitude",
    "房屋编码": "house_code",
    "产权人身份证号": "owner_id_number",
    "建筑面积": "area_m2",
    "用途": "use",
    "统一社会信用代码": "credit_code",
    "企业名称": "name",
    "法定代表人": "legal_representative",
    "行业": "industry",
}

REQUIRED: dict[RegistryKind, tuple[str, ...]] = {
    RegistryKind.PERSON: ("source", "source_key", "name", "id_number"),
    RegistryKind.HOUSE: ("source", "source_key", "house_code", "address", "latitude", "longitude"),
    RegistryKind.ENTERPRISE: (
        *("source", "source_key", "credit_code", "name", "address"),
        *("latitude", "longitude"),
    ),
}
OPTIONAL: dict[RegistryKind, tuple[str, ...]] = {
    RegistryKind.PERSON: ("phone", "address", "community", "latitude", "longitude"),
    RegistryKind.HOUSE: ("owner_id_number", "area_m2", "use", "community"),
    RegistryKind.ENTERPRISE: ("legal_representative", "phone", "industry", "community"),
}
_KEY_FIELD = {
    RegistryKind.PERSON: "id_number",
    RegistryKind.HOUSE: "house_code",
    RegistryKind.ENTERPRISE: "credit_code",
}
_HOUSE_CODE = re.compile(r"^[0-9A-Za-z-]{4,32}$")


def canonical_header(header: str) -> str:
    name = header.strip().lstrip("\ufeff")
    return HEADER_ALIASES.get(name, name.lower())


def missing_columns(kind: RegistryKind, headers: Collection[str]) -> list[str]:
    """Required columns a file's (canonical) headers lack: the whole file is refused then."""
    return [c for c in REQUIRED[kind] if c not in headers]


class RegistryRow(NamedTuple):
    """The values one valid row stores, in the staging table's column order (community by
    name: the importer resolves it). A tuple, because the importer streams millions of them."""

    kind: str
    natural_key: str
    name: str
    phone: str | None
    address: str
    community: str | None
    latitude: float | None
    longitude: float | None
    source: str
    source_key: str
    data: str  # JSON text, keys sorted: stable, so equal rows hash equally
    row_hash: str


_COLUMNS = {kind: (*REQUIRED[kind], *OPTIONAL[kind]) for kind in RegistryKind}
_DATA_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))
_ABSENT = 1 << 30  # the cell index of a column the file lacks: past any row's end

RowChecker = Callable[[Sequence[str]], "RegistryRow | str"]


def parse_row(
    kind: RegistryKind, row: Mapping[str, str | None], communities: Mapping[str, str]
) -> RegistryRow | str:
    """The stored values of one row, or the reason it is refused (every problem, `; `-joined).

    `row` maps canonical headers to cell text; `communities` maps the known community names to
    their counties (a row's point lies in its community's county, else in one of those).
    """
    columns = _COLUMNS[kind]
    return row_checker(kind, columns, communities)([row.get(c) or "" for c in columns])


def row_checker(
    kind: RegistryKind, header: Sequence[str], communities: Mapping[str, str]
) -> RowChecker:
    """`parse_row` for rows read as lists of cells under `header` (canonical names), as the
    importer reads them: the column positions, messages and lookups are worked out once here,
    not once per row. A cell missing at a row's end is empty; cells beyond the header are
    ignored; of two columns with the same name, the last counts."""
    where = {c: i for i, c in enumerate(header)}
    positions = tuple((c, where.get(c, _ABSENT)) for c in _COLUMNS[kind])
    required = tuple((c, f"{c} is required") for c in REQUIRED[kind])
    known = dict(communities)
    counties = held_counties(known.values())
    key_field = _KEY_FIELD[kind]
    person = kind is RegistryKind.PERSON
    house = kind is RegistryKind.HOUSE
    kind_value = kind.value
    blake2b = hashlib.blake2b

    def check(cells: Sequence[str]) -> RegistryRow | str:
        n = len(cells)
        get = {c: cells[i].strip() if i < n else "" for c, i in positions}
        problems = [message for c, message in required if not get[c]]
        source, source_key = get["source"], get["source_key"]
        if len(source) > SOURCE_MAX:
            problems.append(f"source is longer than {SOURCE_MAX} characters")
        if len(source_key) > SOURCE_KEY_MAX:
            problems.append(f"source_key is longer than {SOURCE_KEY_MAX} characters")
        key = get[key_field].upper()
        data: dict[str, Any] = {}
        if key:
            _check_key(kind, key, problems, data)
        address = get.get("address", "")
        name = address if house else get["name"]
        if len(name) > NAME_MAX:
            problems.append(f"name is longer than {NAME_MAX} characters")
        if (direction := written_text_problem(name + address)) is not None:
            problems.append(f"name or address {direction}")
        if len(address) > ADDRESS_MAX:
            problems.append(f"address is longer than {ADDRESS_MAX} characters")
        phone = get.get("phone") or None
        if phone is not None:
            phone = phone.replace(" ", "")
            if (why := phone_problem(phone)) is not None:
                problems.append(why)
        lat_text, lon_text = get["latitude"], get["longitude"]
        community = get["community"] or None
        home = known.get(community) if community is not None else None
        latitude, longitude = _point(lat_text, lon_text, problems, counties, home)
        if community is not None and community not in known:
            problems.append(f"unknown community '{community}'")
        if not person:
            _extras(kind, get, problems, data)
        if problems:
            return "; ".join(problems)
        if person:  # digits and two fixed words: the JSON encoder's output, written directly
            data_text = f'{{"birth_date":"{data["birth_date"]}","gender":"{data["gender"]}"}}'
        else:
            data_text = _DATA_JSON.encode(data)
        stored = (key, name, phone or "", address, community or "", lat_text, lon_text)
        digest = blake2b(
            "\x1f".join((*stored, source, source_key, data_text)).encode(), digest_size=8
        ).hexdigest()
        return RegistryRow(
            kind_value,
            key,
            name,
            phone,
            address,
            community,
            latitude,
            longitude,
            source,
            source_key,
            data_text,
            digest,
        )

    return check


def _check_key(kind: RegistryKind, key: str, problems: list[str], data: dict[str, Any]) -> None:
    if kind is RegistryKind.PERSON:
        if (why := id_number_problem(key)) is not None:
            problems.append(why)
        else:
            data["birth_date"] = f"{key[6:10]}-{key[10:12]}-{key[12:14]}"
            # GB 11643: the 17th digit is odd for men, even for women.
            data["gender"] = "male" if int(key[16]) % 2 else "female"
    elif kind is RegistryKind.ENTERPRISE:
        if (why := credit_code_problem(key)) is not None:
            problems.append(why)
    elif not _HOUSE_CODE.match(key):
        problems.append("house code must be 4 to 32 letters, digits or '-'")


def _point(
    latitude: str,
    longitude: str,
    problems: list[str],
    counties: frozenset[str],
    home: str | None,
) -> tuple[float | None, float | None]:
    if not latitude and not longitude:
        return None, None
    point = coordinates_problem(latitude, longitude, counties, home)
    if isinstance(point, str):
        problems.append(point)
        return None, None
    return point


def _extras(
    kind: RegistryKind, get: Mapping[str, str], problems: list[str], data: dict[str, Any]
) -> None:
    if kind is RegistryKind.HOUSE:
        owner = get["owner_id_number"].upper()
        if owner:
            if (why := id_number_problem(owner)) is not None:
                problems.append(f"owner {why}")
            data["owner_id_number"] = owner
        if get["area_m2"]:
            area = decimal(get["area_m2"])
            if area is None:
                area = -1.0
            if not 0 < area < 100_000:
                problems.append("area_m2 must be a number between 0 and 100000")
            data["area_m2"] = area
        if get["use"]:
            data["use"] = get["use"][:TEXT_MAX]
    elif kind is RegistryKind.ENTERPRISE:
        for column in ("legal_representative", "industry"):
            if get[column]:
                data[column] = get[column][:TEXT_MAX]
