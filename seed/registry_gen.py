"""A realistic shared-registry file (一表同享) of any size, with a chosen share of bad rows.

Names, addresses and industries come from Faker (zh_CN), drawn once into pools so that a
900,000-row file is written in seconds rather than the minutes per-row Faker calls would take.
Natural keys (ID numbers, house codes, credit codes) are unique by construction; the bad rows
are chosen at random and each carries exactly one defect, so a test or benchmark knows exactly
which lines the import must refuse (`GeneratedRegistry.bad_lines`).

    python -m seed.registry_gen people 900000 /tmp/people.csv --bad 0.01
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from faker import Faker

from schema.base import COUNTY_LAT, COUNTY_LON
from schema.services.tabular import write_table
from seed.identity import JIAN_COUNTY_CODE, credit_code, id_check_digit, mobile_number

HEADERS = {
    "people": [
        "来源系统",
        "来源编号",
        "姓名",
        "身份证号",
        "联系电话",
        "住址",
        "社区",
        "纬度",
        "经度",
    ],
    "houses": [
        "来源系统",
        "来源编号",
        "房屋编码",
        "地址",
        "产权人身份证号",
        "建筑面积",
        "用途",
        "社区",
        "纬度",
        "经度",
    ],
    "enterprises": [
        "来源系统",
        "来源编号",
        "统一社会信用代码",
        "企业名称",
        "法定代表人",
        "联系电话",
        "行业",
        "地址",
        "社区",
        "纬度",
        "经度",
    ],
}
SOURCES = {
    "people": ("公安人口库", "卫健居民健康档案", "民政低保系统"),
    "houses": ("不动产登记", "住建房屋普查"),
    "enterprises": ("市场监管企业库", "税务登记"),
}
_FIRST_BIRTH = date(1930, 1, 1)
_BIRTH_DAYS = 30_000  # about 82 years of birth dates
_USES = ("住宅", "商业", "办公", "仓储", "厂房")
# Keep generated points a little inside the county's box.
_LAT = (COUNTY_LAT[0] + 0.05, COUNTY_LAT[1] - 0.05)
_LON = (COUNTY_LON[0] + 0.05, COUNTY_LON[1] - 0.05)


@dataclass
class GeneratedRegistry:
    rows: int
    bad_lines: list[int] = field(default_factory=list)  # file line numbers (header is line 1)


@dataclass
class _Pools:
    names: list[str]
    addresses: list[str]
    companies: list[str]
    industries: list[str]


def _pools(seed: int) -> _Pools:
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    return _Pools(
        names=[fake.name() for _ in range(3000)],
        addresses=[f"吉安县{fake.street_name()}{i % 300 + 1}号" for i in range(2000)],
        companies=[fake.company() for _ in range(2000)],
        industries=[fake.job()[:16] for _ in range(200)],
    )


def person_id_number(serial: int) -> str:
    """A valid ID number unique per serial (< 30,000,000): birth date and sequence from it."""
    born = _FIRST_BIRTH + timedelta(days=serial % _BIRTH_DAYS)
    first17 = f"{JIAN_COUNTY_CODE}{born:%Y%m%d}{serial // _BIRTH_DAYS % 1000:03d}"
    return first17 + id_check_digit(first17)


def _point(rng: random.Random) -> tuple[str, str]:
    return f"{rng.uniform(*_LAT):.6f}", f"{rng.uniform(*_LON):.6f}"


def _person(i: int, rng: random.Random, p: _Pools, communities: Sequence[str]) -> list[str]:
    lat, lon = _point(rng) if rng.random() < 0.8 else ("", "")
    return [
        rng.choice(SOURCES["people"]),
        f"P{i:09d}",
        rng.choice(p.names),
        person_id_number(i),
        mobile_number(rng) if rng.random() < 0.9 else "",
        rng.choice(p.addresses),
        rng.choice(communities) if communities else "",
        lat,
        lon,
    ]


def _house(i: int, rng: random.Random, p: _Pools, communities: Sequence[str]) -> list[str]:
    lat, lon = _point(rng)
    return [
        rng.choice(SOURCES["houses"]),
        f"H{i:09d}",
        f"JA-{i:010d}",
        f"{rng.choice(p.addresses)}{rng.randint(1, 30)}栋{rng.randint(101, 2604)}室",
        person_id_number(rng.randrange(_BIRTH_DAYS * 50)) if rng.random() < 0.9 else "",
        f"{rng.uniform(30, 240):.1f}",
        rng.choice(_USES),
        rng.choice(communities) if communities else "",
        lat,
        lon,
    ]


def _enterprise(i: int, rng: random.Random, p: _Pools, communities: Sequence[str]) -> list[str]:
    lat, lon = _point(rng)
    return [
        rng.choice(SOURCES["enterprises"]),
        f"E{i:09d}",
        credit_code(1_000_000 + i),
        f"{rng.choice(p.companies)}{i}",
        rng.choice(p.names),
        mobile_number(rng),
        rng.choice(p.industries),
        rng.choice(p.addresses),
        rng.choice(communities) if communities else "",
        lat,
        lon,
    ]


_MAKERS: dict[str, Callable[[int, random.Random, _Pools, Sequence[str]], list[str]]] = {
    "people": _person,
    "houses": _house,
    "enterprises": _enterprise,
}


def _spoil(kind: str, row: list[str], rng: random.Random) -> None:
    """Gives a good row exactly one defect the importer must refuse."""
    header = HEADERS[kind]
    key_column = {"people": "身份证号", "houses": "房屋编码", "enterprises": "统一社会信用代码"}
    defect = rng.randrange(4)
    if defect == 0:  # a typo in the key: wrong check character, or a bad house code
        k = header.index(key_column[kind])
        key = row[k]
        if kind == "houses":
            row[k] = key + "#"
        else:
            last = "0" if key[-1] != "0" else "1"
            row[k] = key[:-1] + last
    elif defect == 1:  # a point outside the county
        row[header.index("纬度")], row[header.index("经度")] = "30.500000", "114.300000"
    elif defect == 2:  # a required field left empty
        row[
            header.index("地址" if kind == "houses" else "企业名称" if kind != "people" else "姓名")
        ] = ""
    elif "联系电话" in header:  # a phone number that is none
        row[header.index("联系电话")] = f"{rng.randrange(10_000, 99_999)}"
    else:  # houses have no phone: a non-numeric floor area instead
        row[header.index("建筑面积")] = "约100平"


def generate_rows(
    kind: str,
    rows: int,
    *,
    bad_fraction: float = 0.0,
    seed: int = 2026,
    communities: Sequence[str] = (),
    result: GeneratedRegistry | None = None,
) -> Iterator[list[str]]:
    """The data rows of a registry file; bad line numbers are appended to `result`."""
    rng = random.Random(seed)
    pools = _pools(seed)
    make = _MAKERS[kind]
    for i in range(rows):
        row = make(i, rng, pools, communities)
        if bad_fraction and rng.random() < bad_fraction:
            _spoil(kind, row, rng)
            if result is not None:
                result.bad_lines.append(i + 2)
        yield row


def write_registry(
    path: Path,
    kind: str,
    rows: int,
    *,
    bad_fraction: float = 0.0,
    seed: int = 2026,
    communities: Sequence[str] = (),
) -> GeneratedRegistry:
    """Writes a registry file (.csv or .xlsx, by its suffix) with Chinese headers."""
    result = GeneratedRegistry(rows=rows)
    data = generate_rows(
        kind, rows, bad_fraction=bad_fraction, seed=seed, communities=communities, result=result
    )
    write_table(path, HEADERS[kind], data, sheet=kind, formulas_as_text=False)
    return result


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write a synthetic shared-registry file.")
    parser.add_argument("kind", choices=sorted(HEADERS))
    parser.add_argument("rows", type=int)
    parser.add_argument("output", type=Path, help=".csv or .xlsx")
    parser.add_argument("--bad", type=float, default=0.0, help="share of bad rows, 0–1")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--community", action="append", default=[], help="community names")
    args = parser.parse_args(argv)
    made = write_registry(
        args.output,
        args.kind,
        args.rows,
        bad_fraction=args.bad,
        seed=args.seed,
        communities=args.community,
    )
    print(f"wrote {made.rows} rows ({len(made.bad_lines)} bad) to {args.output}")


if __name__ == "__main__":
    main()
