"""Areas: communities and villages, grids and their staff, compounds, venues, consultations."""

from __future__ import annotations

from datetime import datetime

import strawberry
from sqlmodel import col

from api.auth.permissions import can
from api.graphql.context import Info
from api.graphql.enums import AreaKind, AreaMode, GridKind, GridRole, VenueKind
from api.graphql.lists import MaxItems
from api.graphql.needs.loaders import open_needs_of_community
from api.graphql.people.loaders import members_of_community
from api.graphql.relay import (
    Node,
    PageQuery,
    RowType,
    children_field,
    connection_field,
    frozen,
    load_children,
    load_one,
    register_node,
)
from api.graphql.type_refs import (
    ActivityT,
    CompoundT,
    ConsultationPartyT,
    ConsultationSessionT,
    ConsultationT,
    GridT,
    NeedT,
    PairedUnitT,
    PersonT,
    ResourceT,
    SettledDisputeT,
    TeamT,
    VenueT,
)
from api.graphql.units.loaders import units_of_community
from schema import models as m


@strawberry.type(
    description="An urban community (城市社区) or a village (村): members register here."
)
class Community(RowType, Node):
    __model__ = m.Community
    __node_name__ = "Community"

    name: str = strawberry.field(description="Name, e.g. 泉塘社区 or 横溪村.")
    kind: AreaKind = strawberry.field(description="Urban community or village.")
    township: str = strawberry.field(description="Township (乡镇) it belongs to.")
    county: str = strawberry.field(
        description="County (县) it belongs to: 吉安县, or in a province 吉安县-2 … (the names "
        "`countyStats(county:)` takes)."
    )
    latitude: float = strawberry.field(description="Latitude of its party-service centre (WGS 84).")
    longitude: float = strawberry.field(description="Longitude of its party-service centre.")
    population: int = strawberry.field(description="Resident population.")
    mode: AreaMode = strawberry.field(description="Normal or emergency mode (平急转换).")
    mode_changed_at: datetime | None = strawberry.field(
        description="When the mode last changed (UTC)."
    )
    created_at: datetime = strawberry.field(description="When the record was created.")

    grids: list[Grid] = children_field(
        GridT,
        "community_id",
        order_by=[m.Grid.code],
        cap=200,
        description="Its grids (网格), by code.",
        permission_classes=can("reference.read"),
    )
    compounds: list[Compound] = children_field(
        CompoundT,
        "community_id",
        cap=200,
        description="Its residential compounds (小区).",
        permission_classes=can("reference.read"),
    )
    venues: list[Venue] = children_field(
        VenueT,
        "community_id",
        cap=200,
        description="Its venues: service stations, village venues, elder-care sites.",
        permission_classes=can("reference.read"),
    )

    @strawberry.field(
        description="Paired units twinned with it (结对共建单位).",
        permission_classes=can("reference.read"),
        extensions=[MaxItems(200)],
    )
    async def paired_units(self, info: Info) -> list[PairedUnitT]:
        return await units_of_community(info, self.pk)

    teams: list[TeamT] = children_field(
        TeamT,
        "community_id",
        cap=100,
        description="Volunteer teams based here.",
        permission_classes=can("reference.read"),
    )
    consultations: list[Consultation] = children_field(
        ConsultationT,
        "community_id",
        order_by=[col(m.Consultation.held_at).desc()],
        cap=100,
        description="Consultations held here (赣事好商量·吉事广议), latest first.",
        permission_classes=can("reference.read"),
    )

    @connection_field(
        PersonT,
        description="People registered with this community (在职党员报到), by name.",
        permission_classes=can("person.read"),
    )
    async def members(self) -> PageQuery:
        return members_of_community(self.pk)

    @connection_field(
        NeedT,
        description="Its open needs (reported, accepted, dispatched, arrived), most urgent first.",
        permission_classes=can("need.read"),
    )
    async def open_needs(self) -> PageQuery:
        return open_needs_of_community(self.pk)

    activities: list[ActivityT] = children_field(
        ActivityT,
        "community_id",
        order_by=[col(m.Activity.starts_at).desc()],
        cap=200,
        description="Volunteer activities held here, latest first.",
    )


@strawberry.type(description="A grid (网格): one leader, one full-time and N part-time workers.")
class Grid(RowType, Node):
    __model__ = m.Grid
    __node_name__ = "Grid"
    __needs__ = frozen({"community": ("community_id",)})

    code: str = strawberry.field(description="Grid code, unique in the county.")
    name: str = strawberry.field(description="Grid name.")
    kind: GridKind = strawberry.field(description="Urban or rural grid.")
    latitude: float = strawberry.field(description="Latitude of the grid's centre.")
    longitude: float = strawberry.field(description="Longitude of the grid's centre.")

    @strawberry.field(description="The community or village the grid belongs to.")
    async def community(self, info: Info) -> Community:
        return await load_one(info, Community, self.community_id)

    @strawberry.field(description="Who works the grid, leader first.", extensions=[MaxItems(50)])
    async def staff(self, info: Info) -> list[GridStaffMember]:
        rows = await load_children(info, GridStaffMember, "grid_id", self.pk)
        order = {GridRole.LEADER: 0, GridRole.FULL_TIME: 1, GridRole.PART_TIME: 2}
        return sorted(rows, key=lambda s: (order[s.role], s.person_id))

    community_id: strawberry.Private[int]


@strawberry.type(description="A person working a grid, and in which role.")
class GridStaffMember(RowType):
    __model__ = m.GridStaff
    __pk__ = "person_id"

    role: GridRole = strawberry.field(description="Leader, full-time or part-time worker.")
    person_id: strawberry.Private[int]
    grid_id: strawberry.Private[int]

    @strawberry.field(description="The grid worker.", permission_classes=can("person.read"))
    async def person(self, info: Info) -> PersonT:
        return await load_one(info, PersonT, self.person_id)

    @strawberry.field(description="The grid.")
    async def grid(self, info: Info) -> Grid:
        return await load_one(info, Grid, self.grid_id)


@strawberry.type(
    description="A residential compound (小区), possibly with red property (红色物业)."
)
class Compound(RowType, Node):
    __model__ = m.Compound
    __node_name__ = "Compound"
    __needs__ = frozen({"community": ("community_id",), "property_unit": ("property_unit_id",)})

    name: str = strawberry.field(description="Name, e.g. 燕京府小区.")
    is_red_property: bool = strawberry.field(
        description="Managed as a red property (红色物业) site."
    )
    households: int = strawberry.field(description="Number of households.")
    latitude: float = strawberry.field(description="Latitude.")
    longitude: float = strawberry.field(description="Longitude.")
    community_id: strawberry.Private[int]
    property_unit_id: strawberry.Private[int | None]

    @strawberry.field(description="The community it belongs to.")
    async def community(self, info: Info) -> Community:
        return await load_one(info, Community, self.community_id)

    @strawberry.field(description="Its property company (物业公司), if any.")
    async def property_unit(self, info: Info) -> PairedUnitT | None:
        return await load_one(info, PairedUnitT, self.property_unit_id)

    @strawberry.field(
        description="Venues inside it, e.g. its service station (小区党群服务站).",
        extensions=[MaxItems(100)],
    )
    async def venues(self, info: Info) -> list[Venue]:
        return await load_children(info, Venue, "compound_id", self.pk)


@strawberry.type(description="A place where activities happen and services are offered.")
class Venue(RowType, Node):
    __model__ = m.Venue
    __node_name__ = "Venue"
    __needs__ = frozen({"community": ("community_id",), "compound": ("compound_id",)})

    name: str = strawberry.field(description="Name.")
    kind: VenueKind = strawberry.field(description="Service station, village venue, elder care …")
    capacity: int = strawberry.field(description="How many people it holds.")
    services: list[str] = strawberry.field(
        description="Services offered (the 15-minute service circle: policy advice, mediation …)."
    )
    latitude: float = strawberry.field(description="Latitude.")
    longitude: float = strawberry.field(description="Longitude.")
    community_id: strawberry.Private[int]
    compound_id: strawberry.Private[int | None]

    @strawberry.field(description="The community it belongs to.")
    async def community(self, info: Info) -> Community:
        return await load_one(info, Community, self.community_id)

    @strawberry.field(description="The compound it is in, if any.")
    async def compound(self, info: Info) -> Compound | None:
        return await load_one(info, Compound, self.compound_id)

    @strawberry.field(description="Resources it lends.", extensions=[MaxItems(1000)])
    async def resources(self, info: Info) -> list[ResourceT]:
        return await load_children(info, ResourceT, "venue_id", self.pk)


@strawberry.type(description="A grassroots consultation (协商议事) and the disputes it settled.")
class Consultation(RowType, Node):
    __model__ = m.Consultation
    __node_name__ = "Consultation"
    __needs__ = frozen({"community": ("community_id",)})

    topic: str = strawberry.field(description="What was discussed.")
    held_at: datetime = strawberry.field(description="When it was held.")
    participants: int = strawberry.field(description="How many took part.")
    disputes_settled: int = strawberry.field(description="Disputes it settled.")
    outcome: str = strawberry.field(description="What was agreed.")
    concluded_at: datetime | None = strawberry.field(
        description="When the outcome was recorded (no more sessions then); null while open."
    )
    version: int = strawberry.field(
        description="Bumped by every change; pass it as `expectedVersion` to refuse stale edits."
    )
    community_id: strawberry.Private[int]

    @strawberry.field(description="Its parties, in the order given.", extensions=[MaxItems(100)])
    async def parties(self, info: Info) -> list[ConsultationPartyT]:
        return await load_children(
            info, ConsultationPartyT, "consultation_id", self.pk, order_by=[m.ConsultationParty.id]
        )

    @strawberry.field(description="Its sittings, earliest first.", extensions=[MaxItems(200)])
    async def sessions(self, info: Info) -> list[ConsultationSessionT]:
        return await load_children(
            info,
            ConsultationSessionT,
            "consultation_id",
            self.pk,
            order_by=[m.ConsultationSession.held_at, m.ConsultationSession.id],
        )

    @strawberry.field(
        description="The disputes it settled, as recorded one by one (`disputesSettled` also "
        "counts those recorded only as a number).",
        extensions=[MaxItems(200)],
    )
    async def settled_disputes(self, info: Info) -> list[SettledDisputeT]:
        return await load_children(
            info, SettledDisputeT, "consultation_id", self.pk, order_by=[m.SettledDispute.id]
        )

    @strawberry.field(description="Where it was held.")
    async def community(self, info: Info) -> Community:
        return await load_one(info, Community, self.community_id)

    @strawberry.field(
        description="Needs that came out of it.",
        permission_classes=can("need.read"),
        extensions=[MaxItems(200)],
    )
    async def needs(self, info: Info) -> list[NeedT]:
        return await load_children(info, NeedT, "consultation_id", self.pk)


for _t in (Community, Grid, Compound, Venue, Consultation):
    register_node(_t, "reference.read")
