"""What a notification says (Chinese), from its kind and the values of what it is about.

The same values (`data`) go to SMS and WeChat template messages, whose wording the provider
holds; the title and body here are the in-app and e-mail text. Times are the county's local
time (Asia/Shanghai), as people read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from schema.base import LOCAL_ZONE
from schema.notifications import NotificationKind as K


def local_time(t: datetime | None) -> str:
    """`11月30日 14:05` in county time; empty for no time."""
    if t is None:
        return ""
    t = t.astimezone(LOCAL_ZONE)
    return f"{t.month}月{t.day}日 {t:%H:%M}"


def local_span(start: datetime | None, end: datetime | None) -> str:
    """`11月30日 14:00–15:00` (the end's date too when the span crosses midnight)."""
    if start is None or end is None:
        return ""
    same_day = start.astimezone(LOCAL_ZONE).date() == end.astimezone(LOCAL_ZONE).date()
    tail = f"{end.astimezone(LOCAL_ZONE):%H:%M}" if same_day else local_time(end)
    return f"{local_time(start)}–{tail}"


def _need_line(d: Mapping[str, Any]) -> str:
    """「title」（place，slot or deadline）: one need, as a list of tasks shows it."""
    when = f"预约时段{d['slot']}" if d.get("slot") else f"办结时限{d.get('deadline', '')}"
    return f"「{d.get('title', '')}」（{d.get('place', '')}，{when}）"


def _dispatched(d: Mapping[str, Any]) -> tuple[str, str]:
    if d.get("slot"):
        when = f"预约时段：{d['slot']}，请准时上门。"
    else:
        when = f"请于{d.get('arrive_by', '')}前到场，{d.get('deadline', '')}前办结。"
    return (
        f"【派单】{d.get('title', '')}",
        f"您有一条新的派单：「{d.get('title', '')}」，地点：{d.get('place', '')}。{when}",
    )


def _committed(d: Mapping[str, Any]) -> tuple[str, str]:
    tasks = [_need_line(t) for t in d.get("needs", [])]
    tasks += [
        f"企业诉求「{r.get('title', '')}」（{r.get('deadline', '')}前办结）"
        for r in d.get("requests", [])
    ]
    return (
        f"【任务派发】您有{len(tasks)}项新任务",
        f"匹配任务第{d.get('job_id', '')}号为您安排了{len(tasks)}项任务："
        + "；".join(tasks)
        + "。",
    )


def _assigned(d: Mapping[str, Any]) -> tuple[str, str]:
    return (
        f"【企业诉求】{d.get('title', '')}",
        f"{d.get('enterprise', '')}的诉求「{d.get('title', '')}」已分派给您，"
        f"请于{d.get('deadline', '')}前办结。",
    )


def _taken(d: Mapping[str, Any]) -> tuple[str, str]:
    return (
        f"【营商气象站】诉求已受理：{d.get('title', '')}",
        f"您的诉求「{d.get('title', '')}」已由小赣事{d.get('helper', '')}负责办理，"
        f"办结时限：{d.get('deadline', '')}。",
    )


def _resolved(d: Mapping[str, Any]) -> tuple[str, str]:
    return (
        f"【办结】{d.get('title', '')}",
        f"您反映的「{d.get('title', '')}」（{d.get('place', '')}）已办结，欢迎对办理结果进行评价。",
    )


def _escalated(d: Mapping[str, Any]) -> tuple[str, str]:
    reason = f"原因：{d['reason']}。" if d.get("reason") else ""
    return (
        f"【升级】{d.get('title', '')}",
        f"「{d.get('title', '')}」（{d.get('place', '')}）已升级为{d.get('tier', '')}，"
        f"办结时限：{d.get('deadline', '')}。{reason}",
    )


def _reminder(d: Mapping[str, Any]) -> tuple[str, str]:
    return (
        f"【上门提醒】{d.get('title', '')}",
        f"提醒：您承接的服务「{d.get('title', '')}」预约在{d.get('slot', '')}，"
        f"地点：{d.get('place', '')}，请准时到场。",
    )


def _warning(d: Mapping[str, Any]) -> tuple[str, str]:
    return (
        f"【时限预警】{d.get('title', '')}",
        f"「{d.get('title', '')}」（{d.get('place', '')}）将于{d.get('deadline', '')}"
        f"超过“1341”办结时限，当前状态：{d.get('status', '')}，请督办。",
    )


def _activity_cancelled(d: Mapping[str, Any]) -> tuple[str, str]:
    return (
        f"【活动取消】{d.get('title', '')}",
        f"您报名的志愿活动「{d.get('title', '')}」（{d.get('time', '')}，"
        f"地点：{d.get('place', '')}）已取消。原因：{d.get('reason', '')}。"
        "给您带来不便，敬请谅解。",
    )


def _commando_mobilised(d: Mapping[str, Any]) -> tuple[str, str]:
    return (
        f"【紧急集结】{d.get('team', '')}",
        f"紧急通知：{d.get('community', '')}已转入应急状态，您已于{d.get('time', '')}编入"
        f"{d.get('team', '')}，请立即集结，服从社区统一调度。",
    )


def _commando_stood_down(d: Mapping[str, Any]) -> tuple[str, str]:
    return (
        f"【突击队解散】{d.get('team', '')}",
        f"{d.get('community', '')}已恢复常态，{d.get('team', '')}解散，感谢您的付出。"
        "您已回到原所在队伍。",
    )


def _reassigned(d: Mapping[str, Any]) -> tuple[str, str]:
    reason = f"说明：{d['note']}。" if d.get("note") else ""
    return (
        f"【改派】{d.get('title', '')}",
        f"「{d.get('title', '')}」（{d.get('place', '')}）已改派他人办理，您无需再前往。{reason}"
        "感谢您的付出。",
    )


_TEXTS = {
    K.NEED_DISPATCHED: _dispatched,
    K.MATCH_COMMITTED: _committed,
    K.REQUEST_ASSIGNED: _assigned,
    K.REQUEST_TAKEN: _taken,
    K.NEED_RESOLVED: _resolved,
    K.NEED_ESCALATED: _escalated,
    K.SLOT_REMINDER: _reminder,
    K.DEADLINE_WARNING: _warning,
    K.ACTIVITY_CANCELLED: _activity_cancelled,
    K.COMMANDO_MOBILISED: _commando_mobilised,
    K.COMMANDO_STOOD_DOWN: _commando_stood_down,
    K.NEED_REASSIGNED: _reassigned,
}


def render(kind: K, data: Mapping[str, Any]) -> tuple[str, str]:
    """(title, body) of a notification of this kind."""
    title, body = _TEXTS[kind](data)
    return title[:200], body
