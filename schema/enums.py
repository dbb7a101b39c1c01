"""Every enumeration of the domain, each value with the Chinese label county staff use."""

from __future__ import annotations

from schema.base import LabelledEnum


class AreaKind(LabelledEnum):
    URBAN_COMMUNITY = ("urban_community", "城市社区")
    VILLAGE = ("village", "村")


class AreaMode(LabelledEnum):
    NORMAL = ("normal", "平时")
    EMERGENCY = ("emergency", "急时")


class GridKind(LabelledEnum):
    URBAN = ("urban", "城市网格")
    RURAL = ("rural", "农村网格")


class VenueKind(LabelledEnum):
    SERVICE_STATION = ("service_station", "小区党群服务站")
    VILLAGE_VENUE = ("village_venue", "村级组织活动场所")
    ELDER_CARE = ("elder_care", "互助养老服务设施")
    COMMUNITY_CENTRE = ("community_centre", "社区党群服务中心")


class UnitKind(LabelledEnum):
    GOVERNMENT = ("government", "机关")
    ENTERPRISE = ("enterprise", "企业")
    INSTITUTION = ("institution", "事业单位")
    PROPERTY_COMPANY = ("property_company", "物业公司")


class ResourceKind(LabelledEnum):
    VENUE = ("venue", "场地")
    VEHICLE = ("vehicle", "车辆")
    FUNDS = ("funds", "资金")
    EQUIPMENT = ("equipment", "设备")
    EXPERTISE = ("expertise", "专业服务")
    SUPPLIES = ("supplies", "物资")


class PersonKind(LabelledEnum):
    PARTY_MEMBER = ("party_member", "在职党员")
    GRID_WORKER = ("grid_worker", "网格员")
    CADRE = ("cadre", "县管干部")
    ENTERPRISE_HELPER = ("enterprise_helper", "小赣事")
    TEAM_MEMBER = ("team_member", "服务队队员")
    RESIDENT = ("resident", "居民")


class GridRole(LabelledEnum):
    LEADER = ("leader", "网格长")
    FULL_TIME = ("full_time", "专职网格员")
    PART_TIME = ("part_time", "兼职网格员")


class TravelMode(LabelledEnum):
    FOOT = ("foot", "步行")
    EBIKE = ("ebike", "电动车")
    CAR = ("car", "汽车")


class TeamKind(LabelledEnum):
    NEW_BUSINESS = ("new_business", "新业态“吉先锋”服务队")
    ANT_ACTION = ("ant_action", "蚂蚁行动志愿者服务队")
    FOOD_SAFETY = ("food_safety", "食品质量监督队伍")
    LIVE_STREAMING = ("live_streaming", "网络主播")
    COMMANDO = ("commando", "“吉先锋”党员突击队")
    VOLUNTEER_SERVICE = ("volunteer_service", "志愿服务队")
    HELP_SQUAD = ("help_squad", "帮办专班")


class NeedSource(LabelledEnum):
    RESIDENT_APP = ("resident_app", "居民吹哨")
    HOTLINE_12345 = ("hotline_12345", "12345热线")
    SENTINEL_POST = ("sentinel_post", "民声前哨点")
    GRID_PATROL = ("grid_patrol", "网格巡查")
    TEAM_REPORT = ("team_report", "服务队上报")
    CONSULTATION = ("consultation", "协商议事")


class NeedCategory(LabelledEnum):
    INFRASTRUCTURE = ("infrastructure", "基础设施")
    ENVIRONMENT = ("environment", "环境卫生")
    SAFETY = ("safety", "安全隐患")
    DISPUTE = ("dispute", "矛盾纠纷")
    ELDER_CARE = ("elder_care", "养老助残")
    PROPERTY = ("property", "物业服务")
    FOOD_SAFETY = ("food_safety", "食品安全")
    POLICY = ("policy", "政策咨询")
    EMERGENCY = ("emergency", "突发事件")
    OTHER = ("other", "其他")


class NeedTier(LabelledEnum):
    """The "1341" response tiers, least to most serious."""

    ORDINARY = ("ordinary", "普通问题")
    COMPLEX = ("complex", "复杂问题")
    MAJOR = ("major", "特殊重大问题")


class NeedKind(LabelledEnum):
    """How its deadlines run (schema/sla.py): the 1341 clock from dispatch, or a booked slot."""

    RESPONSE = ("response", "即时响应")
    SCHEDULED = ("scheduled", "预约服务")


class NeedStatus(LabelledEnum):
    REPORTED = ("reported", "已上报")
    ACCEPTED = ("accepted", "已受理")
    DISPATCHED = ("dispatched", "已派单")
    ARRIVED = ("arrived", "已到场")
    RESOLVED = ("resolved", "已办结")
    CLOSED = ("closed", "已评价关闭")
    MERGED = ("merged", "已合并")


class NeedAction(LabelledEnum):
    REPORT = ("report", "上报")
    ACCEPT = ("accept", "受理")
    DISPATCH = ("dispatch", "派单/转派")
    ARRIVE = ("arrive", "到场")
    RESOLVE = ("resolve", "办结")
    RATE = ("rate", "评价")
    CLOSE = ("close", "关闭")
    ESCALATE = ("escalate", "升级")
    RETURN = ("return", "退回")
    MERGE = ("merge", "合并")
    ALLOCATE = ("allocate", "调配资源")


class EnterpriseRequestKind(LabelledEnum):
    POLICY = ("policy", "政策咨询")
    APPROVAL = ("approval", "审批办理")
    FINANCING = ("financing", "融资信贷")
    LAND = ("land", "用地规划")
    LABOUR = ("labour", "用工招聘")
    UTILITIES = ("utilities", "水电气网")
    LEGAL = ("legal", "法律服务")
    OTHER = ("other", "其他")


class EnterpriseRequestStatus(LabelledEnum):
    SUBMITTED = ("submitted", "已提交")
    ASSIGNED = ("assigned", "已分派")
    IN_PROGRESS = ("in_progress", "办理中")
    RESOLVED = ("resolved", "已办结")
    CLOSED = ("closed", "已评价关闭")


class EnterpriseAction(LabelledEnum):
    SUBMIT = ("submit", "提交")
    ASSIGN = ("assign", "分派小赣事")
    CLAIM = ("claim", "抢单")
    NOTE = ("note", "办理记录")
    RESOLVE = ("resolve", "办结")
    RATE = ("rate", "评价")


class ActivityStatus(LabelledEnum):
    PLANNED = ("planned", "报名中")
    ONGOING = ("ongoing", "进行中")
    FINISHED = ("finished", "已结束")
    CANCELLED = ("cancelled", "已取消")


class ServiceLevel(LabelledEnum):
    """The "1+6+12+N" volunteer service system (志愿服务体系). The article gives the four levels
    by their counts only: one county volunteer service centre, then 6, 12 and N organisers."""

    CENTRE = ("centre", "“1”: 县志愿服务中心")
    SIX = ("six", "“6”")
    TWELVE = ("twelve", "“12”")
    N = ("n", "“N”")


class EvaluationDirection(LabelledEnum):
    """三亮三比·双述 two-way evaluation (双向评议)."""

    COMMUNITY_RATES_MEMBER = ("community_rates_member", "社区评党员")
    MEMBER_RATES_COMMUNITY = ("member_rates_community", "党员评社区")


class SignUpStatus(LabelledEnum):
    SIGNED_UP = ("signed_up", "已报名")
    CANCELLED = ("cancelled", "已取消")
    CHECKED_IN = ("checked_in", "已签到")
    CHECKED_OUT = ("checked_out", "已签退")
    NO_SHOW = ("no_show", "未到场")


class OfferStatus(LabelledEnum):
    OFFERED = ("offered", "已请缨")
    WITHDRAWN = ("withdrawn", "已撤回")
    ACCEPTED = ("accepted", "已派单")
    DECLINED = ("declined", "未采纳")


class OfferDecline(LabelledEnum):
    """Why an offer was declined: its coordinator's word is final for that need; the other two
    are the need's state, so a place that frees again (or a need reopened) takes a new offer."""

    COORDINATOR = ("coordinator", "协调员未采纳")
    NEED_FULL = ("need_full", "名额已满")
    NEED_ENDED = ("need_ended", "需求已办结或合并")


class JobStatus(LabelledEnum):
    QUEUED = ("queued", "排队中")
    RUNNING = ("running", "计算中")
    SUCCEEDED = ("succeeded", "已完成")
    FAILED = ("failed", "失败")
    CANCELLED = ("cancelled", "已取消")
    COMMITTED = ("committed", "已提交派单")


class ProposalStatus(LabelledEnum):
    PROPOSED = ("proposed", "建议")
    ACCEPTED = ("accepted", "已采纳")
    REJECTED = ("rejected", "已否决")
    PINNED = ("pinned", "已锁定")
    COMMITTED = ("committed", "已派单")
    STALE = ("stale", "已过期")


class ProposalKind(LabelledEnum):
    VOLUNTEER = ("volunteer", "人员")
    RESOURCE = ("resource", "资源")
    HELPER = ("helper", "小赣事")


class AccountScope(LabelledEnum):
    """Where a coordinator or grid worker acts: one community, or (said explicitly) the county."""

    COMMUNITY = ("community", "社区")
    COUNTY = ("county", "全县")


class Role(LabelledEnum):
    RESIDENT = ("resident", "居民")
    VOLUNTEER = ("volunteer", "志愿者")
    GRID_WORKER = ("grid_worker", "网格员")
    COORDINATOR = ("coordinator", "协调员")
    ENTERPRISE_HELPER = ("enterprise_helper", "小赣事")
    # The county business office (营商办): assigns enterprise requests county-wide.
    BUSINESS_OFFICE = ("business_office", "营商办")
    # An enterprise's own account: submits, follows and rates its requests.
    ENTERPRISE = ("enterprise", "企业")
    ADMIN = ("admin", "管理员")
