"""`luling import hotline` (12345 tickets into needs, once each) and `luling export`."""

from __future__ import annotations

import csv
import shutil
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from openpyxl import load_workbook
from sqlmodel import Session, select
from typer.testing import CliRunner

from api.cli import app
from schema.activities import SignUp
from schema.enums import NeedCategory, NeedSource, NeedStatus, Role, SignUpStatus
from schema.needs import Need, NeedEvent
from schema.services import needs as svc
from schema.services.common import Actor
from tests import factories as f
from tests.loop import run

runner = CliRunner()
SAMPLES = Path(__file__).resolve().parents[2] / "seed" / "samples"


def _county(engine: sa.Engine) -> dict[str, int]:
    ids = {}
    for name, lat, lon in (("城南社区", 27.041, 114.903), ("泉塘社区", 27.05, 114.913)):
        c = f.community(engine, name=name, latitude=lat, longitude=lon)
        f.grid(engine, c.id, latitude=lat, longitude=lon)
        ids[name] = c.id
    return ids


def _hotline(database_url: str, path: Path, *extra: str) -> str:
    result = runner.invoke(
        app, ["import", "hotline", str(path), "--database-url", database_url, *extra]
    )
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_hotline_tickets_become_needs_once(
    engine: sa.Engine, database_url: str, tmp_path: Path
) -> None:
    ids = _county(engine)
    path = tmp_path / "tickets.csv"
    shutil.copy(SAMPLES / "hotline_12345.csv", path)
    out = _hotline(database_url, path)
    assert "read 5 tickets: 4 needs created, 0 already imported, 1 refused" in out
    with Session(engine) as s:
        needs = s.exec(select(Need).order_by(Need.reported_at)).all()
        events = s.exec(select(NeedEvent)).all()
    assert [n.idempotency_key for n in needs] == [f"12345:JA2026110200{i}" for i in (1, 2, 3, 4)]
    first = needs[0]
    assert first.source is NeedSource.HOTLINE_12345 and first.status is NeedStatus.REPORTED
    assert first.category is NeedCategory.INFRASTRUCTURE and first.community_id == ids["城南社区"]
    assert first.reported_at == datetime(2026, 11, 2, 1, 15, tzinfo=UTC)  # 09:15 county time
    assert first.reporter_phone == "13807961234" and first.reporter_name == "12345热线"
    assert needs[1].category is NeedCategory.ENVIRONMENT  # by value as well as by label
    assert len(events) == 4  # each recorded as reported, like a report through the API
    report = path.with_name(path.name + ".refused.csv").read_text(encoding="utf-8-sig")
    assert "6,location: the place is outside the province's counties" in report

    again = _hotline(database_url, path)
    assert "0 needs created, 4 already imported, 1 refused" in again
    with Session(engine) as s:
        assert len(s.exec(select(Need)).all()) == 4


def test_hotline_xlsx_filed_under_a_staff_account(
    engine: sa.Engine, database_url: str, tmp_path: Path
) -> None:
    _county(engine)
    f.account(engine, Role.COORDINATOR, username="hotline.desk", display_name="热线专席")
    path = tmp_path / "tickets.xlsx"
    shutil.copy(SAMPLES / "hotline_12345.xlsx", path)
    assert "3 needs created" in _hotline(database_url, path, "--as", "hotline.desk")
    with Session(engine) as s:
        names = {n.reporter_name for n in s.exec(select(Need)).all()}
    assert names == {"热线专席"}
    missing = runner.invoke(
        app, ["import", "hotline", str(path), "--as", "nobody", "--database-url", database_url]
    )
    assert missing.exit_code == 2 and "no account named" in missing.output


def test_export_needs_and_hours_by_period_and_community(
    engine: sa.Engine, database_url: str, tmp_path: Path
) -> None:
    ids = _county(engine)
    path = tmp_path / "tickets.csv"
    shutil.copy(SAMPLES / "hotline_12345.csv", path)
    _hotline(database_url, path)
    out = tmp_path / "needs.csv"
    args = ["export", "needs", "--from", "2026-11-02", "--to", "2026-11-02", "-o", str(out)]
    result = runner.invoke(app, [*args, "--community", "泉塘社区", "--database-url", database_url])
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    # the third ticket named no community: it was placed by its nearest grid
    assert [r["工单编号"] for r in rows] == ["JA20261102002", "JA20261102003", "JA20261102004"]
    assert rows[0]["类别"] == "环境卫生" and rows[0]["上报时间"] == "2026-11-02 10:40"
    assert "13907965678" not in out.read_text(encoding="utf-8-sig")  # no personal data
    none = runner.invoke(
        app, [*args[:2], "--from", "2026-11-03", "-o", str(out), "--database-url", database_url]
    )
    assert none.exit_code == 0 and "wrote 0 needs rows" in none.output

    volunteer = f.person(engine, name="李志愿")
    activity = f.activity(engine, ids["泉塘社区"])
    with Session(engine) as s:
        s.add(
            SignUp(
                person_id=volunteer.id,
                activity_id=activity.id,
                status=SignUpStatus.CHECKED_OUT,
                checked_out_at=datetime(2026, 11, 5, 4, 0, tzinfo=UTC),
                minutes=90,
            )
        )
        s.commit()
    xlsx = tmp_path / "hours.xlsx"
    hours = runner.invoke(
        app,
        ["export", "hours", "--format", "xlsx", "-o", str(xlsx), "--database-url", database_url],
    )
    assert hours.exit_code == 0, hours.output
    sheet = load_workbook(xlsx, read_only=True).worksheets[0]
    table = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert table[0][:3] == ["人员编号", "姓名", "身份"]
    assert table[1][1:] == ["李志愿", "在职党员", "泉塘社区", 1, 90, 1.5]


def test_export_refuses_unknown_things(engine: sa.Engine, database_url: str) -> None:
    for args in (
        ["export", "cars"],
        ["export", "needs", "--format", "pdf"],
        ["export", "needs", "--from", "yesterday"],
        ["export", "needs", "--community", "无此社区"],
        ["export", "needs", "--from", "2026-12-01", "--to", "2026-01-01"],  # reversed
        ["export", "hotline", "--to", "9999-12-31"],  # found by attack5: a traceback
        ["export", "hotline", "--from", "0001-01-01"],
        ["export", "hotline", "-o", "/nonexistent-folder/replies.csv"],
    ):
        result = runner.invoke(app, [*args, "--database-url", database_url])
        assert result.exit_code == 2, (args, result.output)


def test_exports_and_reports_keep_formulas_as_text(
    engine: sa.Engine, database_url: str, tmp_path: Path
) -> None:
    """A caller's title "=HYPERLINK(…)" or a sent file's "=cmd|…" must not run when the office
    opens the export or the refused-rows report in Excel or WPS."""
    _county(engine)
    evil = '=HYPERLINK("http://evil.example/x","点击查看")'
    path = tmp_path / "tickets.csv"
    path.write_text(
        "工单编号,受理时间,标题,诉求类别,纬度,经度,社区\n"
        f'JA20261102101,2026-11-02 09:15,"{evil.replace(chr(34), chr(34) * 2)}",环境卫生,'
        "27.0501,114.9127,泉塘社区\n"
        "=cmd|' /C calc'!A0,2026-11-02 09:20,@SUM(1+1),环境卫生,27.05,114.91,泉塘社区\n",
        encoding="utf-8",
    )
    assert "1 needs created" in _hotline(database_url, path)
    report = path.with_name(path.name + ".refused.csv")
    with report.open(encoding="utf-8-sig", newline="") as fh:
        refused = list(csv.reader(fh))
    assert refused[1][2] == "'=cmd|' /C calc'!A0" and refused[1][4] == "'@SUM(1+1)"

    base = ["export", "needs", "--from", "2026-11-02", "--to", "2026-11-02"]
    out = tmp_path / "needs.csv"
    result = runner.invoke(app, [*base, "-o", str(out), "--database-url", database_url])
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8-sig", newline="") as fh:
        (row,) = list(csv.DictReader(fh))
    assert row["标题"] == "'" + evil

    xlsx = tmp_path / "needs.xlsx"
    args = [*base, "--format", "xlsx", "-o", str(xlsx), "--database-url", database_url]
    assert runner.invoke(app, args).exit_code == 0
    sheet = load_workbook(xlsx).worksheets[0]
    header = [c.value for c in sheet[1]]
    cell = sheet[2][header.index("标题")]
    assert cell.value == evil and cell.data_type == "s"  # text, not a formula


def test_a_ticket_received_in_the_future_is_refused(
    engine: sa.Engine, database_url: str, tmp_path: Path
) -> None:
    """A mistyped year (2099) would file a need reported years ahead, outside every period."""
    _county(engine)
    path = tmp_path / "tickets.csv"
    path.write_text(
        "工单编号,受理时间,标题,诉求类别,纬度,经度,社区\n"
        "JA20991102001,2099-11-02 09:15,路灯不亮,基础设施,27.0501,114.9127,泉塘社区\n"
        "JA20251102001,2025-11-02 09:15,路灯不亮,基础设施,27.0501,114.9127,泉塘社区\n",
        encoding="utf-8",
    )
    assert "1 needs created, 0 already imported, 1 refused" in _hotline(database_url, path)
    report = path.with_name(path.name + ".refused.csv").read_text(encoding="utf-8-sig")
    assert "2,received_at is in the future,JA20991102001" in report
    with Session(engine) as s:
        assert [n.idempotency_key for n in s.exec(select(Need)).all()] == ["12345:JA20251102001"]


def test_a_ticket_title_with_a_direction_control_is_refused(
    engine: sa.Engine, database_url: str, tmp_path: Path
) -> None:
    """The same rule as the API's (schema/text_rules.py): no U+202E in what staff will read."""
    _county(engine)
    path = tmp_path / "tickets.csv"
    path.write_text(
        "工单编号,受理时间,标题,诉求类别,纬度,经度,社区\n"
        "JA20251102009,2025-11-02 09:15,路灯\u202e不亮,基础设施,27.0501,114.9127,泉塘社区\n",
        encoding="utf-8",
    )
    assert "0 needs created, 0 already imported, 1 refused" in _hotline(database_url, path)
    report = path.with_name(path.name + ".refused.csv").read_text(encoding="utf-8-sig")
    assert "title must not contain invisible text-direction characters" in report
    with Session(engine) as s:
        assert s.exec(select(Need)).all() == []


def test_a_ticket_urgency_is_a_plain_whole_number(
    engine: sa.Engine, database_url: str, tmp_path: Path
) -> None:
    # attack4: full-width "３" was taken as 3 (int() reads it); "3.0" was told "between 1 and 5".
    _county(engine)
    path = tmp_path / "tickets.csv"
    rows = [
        f"JA2025110210{i},2025-11-02 09:15,路灯不亮,基础设施,27.0501,114.9127,泉塘社区,{u}"
        for i, u in enumerate(["３", "3_0", "3.0", "9", "4"])
    ]
    path.write_text(
        "工单编号,受理时间,标题,诉求类别,纬度,经度,社区,紧急程度\n" + "\n".join(rows) + "\n",
        encoding="utf-8",
    )
    assert "1 needs created, 0 already imported, 4 refused" in _hotline(database_url, path)
    report = path.with_name(path.name + ".refused.csv").read_text(encoding="utf-8-sig")
    assert report.count("urgency must be a whole number from 1 to 5") == 4
    with Session(engine) as s:
        assert [n.urgency for n in s.exec(select(Need)).all()] == [4]


def test_export_hotline_answers_each_ticket_by_its_number(
    engine: sa.Engine, database_url: str, tmp_path: Path
) -> None:
    """Found by using it: a caller known to the county only through a 12345 ticket (a phone
    number, no account) was never told the outcome. The hotline calls back (回访) from the
    answers it is given: each ticket whose need was resolved, by ticket number, with what was
    done; a ticket merged into another need is answered when that need is."""
    ids = _county(engine)
    path = tmp_path / "tickets.csv"
    shutil.copy(SAMPLES / "hotline_12345.csv", path)
    _hotline(database_url, path)
    with Session(engine) as s:
        needs = {n.idempotency_key: n.id for n in s.exec(select(Need))}
    lamp, rubbish, noise = (needs[f"12345:JA2026110200{i}"] for i in (1, 2, 3))
    admin = Actor(account_id=None, name="县指挥中心", role=Role.ADMIN)
    electrician = f.person(engine, name="张电工", registered_community_id=ids["城南社区"])

    def resolve(need_id: int, at: datetime, note: str) -> None:
        run(database_url, svc.accept_need, need_id=need_id, actor=admin, now=at)
        people = [electrician.id]
        dispatch = {"need_id": need_id, "actor": admin, "to_person_ids": people, "now": at}
        run(database_url, svc.dispatch_need, **dispatch)
        run(database_url, svc.arrive_need, need_id=need_id, actor=admin, now=at)
        run(database_url, svc.resolve_need, need_id=need_id, actor=admin, note=note, now=at)

    done = "已更换灯泡，联系张师傅13912345678"
    resolve(lamp, datetime(2026, 11, 3, 1, 40, tzinfo=UTC), done)  # 09:40 county time
    run(database_url, svc.merge_needs, survivor_id=rubbish, duplicates=[(noise, None)], actor=admin)
    resolve(rubbish, datetime(2026, 11, 4, 2, 0, tzinfo=UTC), "垃圾已清运")

    def export(*period: str) -> list[dict[str, str]]:
        out = tmp_path / "replies.csv"
        args = ["export", "hotline", *period, "-o", str(out), "--database-url", database_url]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert "13907965678" not in out.read_text(encoding="utf-8-sig")  # callers' phones stay
        with out.open(encoding="utf-8-sig", newline="") as fh:
            return list(csv.DictReader(fh))

    first_day = export("--from", "2026-11-03", "--to", "2026-11-03")
    assert [(r["工单编号"], r["办结时间"], r["办理结果"]) for r in first_day] == [
        ("JA20261102001", "2026-11-03 09:40", "已更换灯泡，联系张师傅139****5678")  # masked
    ]
    assert first_day[0]["当前状态"] == "已办结" and first_day[0]["承办社区"] == "城南社区"
    rows = export()
    assert [(r["工单编号"], r["办结编号"], r["办理结果"], r["当前状态"]) for r in rows] == [
        ("JA20261102001", str(lamp), "已更换灯泡，联系张师傅139****5678", "已办结"),
        ("JA20261102002", str(rubbish), "垃圾已清运", "已办结"),
        ("JA20261102003", str(rubbish), "垃圾已清运", "已合并"),  # answered by its survivor
    ]
