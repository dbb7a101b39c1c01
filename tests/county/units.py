"""Paired units and what they bring: the county's organisation department (twinned with both
areas, the volunteer's employer, owner of a van) and a red property company managing a compound
with a service station (whose meeting room is booked), and Hengxi's village hall."""

from __future__ import annotations

from sqlmodel import Session

from schema import models as m
from schema.enums import ResourceKind, UnitKind, VenueKind
from tests.county.core import A_LAT, A_LON, B_LAT, B_LON, County, add

REQUIRES = ("areas", "people")


def build(s: Session, c: County) -> None:
    qt, hx = c.quantang.id, c.hengxi.id
    gov = add(
        s,
        m.PairedUnit(name="县委组织部", kind=UnitKind.GOVERNMENT, latitude=A_LAT, longitude=A_LON),
    )
    prop = add(
        s,
        m.PairedUnit(
            name="红色物业公司",
            kind=UnitKind.PROPERTY_COMPANY,
            is_state_owned=True,
            latitude=A_LAT,
            longitude=A_LON,
        ),
    )
    add(s, m.Pairing(unit_id=gov.id, community_id=qt))
    add(s, m.Pairing(unit_id=gov.id, community_id=hx))
    add(s, m.Pairing(unit_id=prop.id, community_id=qt))
    c.volunteer.employer_unit_id = gov.id
    s.add(c.volunteer)
    compound = add(
        s,
        m.Compound(
            name="燕京府小区",
            community_id=qt,
            property_unit_id=prop.id,
            is_red_property=True,
            households=800,
            latitude=A_LAT,
            longitude=A_LON,
        ),
    )
    station = add(
        s,
        m.Venue(
            name="燕京府小区党群服务站",
            kind=VenueKind.SERVICE_STATION,
            community_id=qt,
            compound_id=compound.id,
            capacity=40,
            services=["政策咨询", "矛盾调解"],
            latitude=A_LAT,
            longitude=A_LON,
        ),
    )
    hall = add(
        s,
        m.Venue(
            name="横溪村活动场所",
            kind=VenueKind.VILLAGE_VENUE,
            community_id=hx,
            capacity=80,
            latitude=B_LAT,
            longitude=B_LON,
        ),
    )
    van = add(
        s,
        m.Resource(
            name="服务车",
            kind=ResourceKind.VEHICLE,
            unit_id=gov.id,
            quantity=2,
            unit_label="辆",
            latitude=A_LAT,
            longitude=A_LON,
        ),
    )
    room = add(
        s,
        m.Resource(
            name="会议室",
            kind=ResourceKind.VENUE,
            venue_id=station.id,
            community_id=qt,
            quantity=1,
            is_available=False,
            latitude=A_LAT,
            longitude=A_LON,
        ),
    )
    c.rows |= {"gov": gov, "property": prop, "compound": compound}
    c.rows |= {"station": station, "hall": hall, "van": van, "room": room}
