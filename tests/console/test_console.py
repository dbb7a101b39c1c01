"""The console and GraphiQL in Chromium, as their users work with them (see conftest.py)."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from seed import DEMO_PASSWORD
from tests.console.conftest import SCREENSHOTS, Watched, open_page, screenshot, sign_in

# The article's figures, as the dashboard prints them (seed/figures.py reproduces them).
ARTICLE = {
    "pairedUnits": "159",
    "partyMembers": "3,500",
    "urbanGrids": "106",
    "ruralGrids": "1,869",
    "serviceStations": "37",
    "enterpriseHelpers": "112",
    "volunteerTeams": "7",
    "enterpriseRequests": "477",
}


def test_graphiql_loads_from_the_server_and_runs_county_stats(page: Any, console_url: str) -> None:
    sign_in(page, console_url, "demo-coordinator")
    page.get_by_role("link", name="GraphiQL").click()  # same tab: it takes the console's token
    page.get_by_role("button", name=re.compile("Execute query")).click()
    result = page.locator(".result-window")
    expect(result).to_contain_text('"pairedUnits": 159')
    expect(result).to_contain_text('"enterpriseRequests": 477')
    page.get_by_role("button", name="Headers").click()
    expect(page.locator(".graphiql-editor-tool")).to_contain_text("Bearer")
    screenshot(page, "graphiql")


def test_dashboard_shows_the_article_figures(page: Any, console_url: str) -> None:
    sign_in(page, console_url, "demo-resident")  # every role gets the dashboard
    expect(page.get_by_role("navigation", name="主菜单").get_by_role("link")).to_have_text(
        ["数据看板", "GraphiQL"]
    )
    for key, shown in ARTICLE.items():
        expect(page.locator(f'[data-figure="{key}"] dd')).to_have_text(shown)
    expect(page.locator(".chart-box[data-ready]")).to_have_count(5, timeout=30_000)
    screenshot(page, "dashboard", full_page=True)


def test_coordinator_runs_reviews_and_commits_a_matching_job(
    page: Any, console_url: str, browser: Any, watched: Watched
) -> None:
    sign_in(page, console_url, "demo-coordinator")
    menu = page.get_by_role("navigation", name="主菜单").get_by_role("link")
    expect(menu).to_have_text(
        ["社区工作台", "智能匹配", "营商气象站", "数据看板", "志愿活动", "平急转换", "GraphiQL"]
    )
    # The board, open beside: it must see the commit live (needEvents), without reloading.
    board = open_page(browser, console_url, watched)
    sign_in(board, console_url, "demo-coordinator")
    expect(board.get_by_role("heading", name="社区工作台 · 泉塘社区")).to_be_visible()
    expect(board.locator(".live.on")).to_be_visible()

    page.get_by_role("link", name="智能匹配").click()
    page.get_by_label("时限（秒）").fill("3")
    page.get_by_label("资源").uncheck()
    page.get_by_role("button", name="开始匹配").click()
    expect(page.locator("[data-job-status]")).to_have_attribute(
        "data-job-status", "SUCCEEDED", timeout=60_000
    )
    expect(page.get_by_label("匹配结果")).to_contain_text("已安排席位")
    expect(page.locator(".chart-box[data-ready]")).to_have_count(1)

    # Volunteers only, cheapest first: accept two, reject one, pin two in bulk.
    page.get_by_label("建议类型").select_option("VOLUNTEER")
    rows = page.locator("tr[data-proposal]")
    expect(rows.first).to_be_visible()
    assert rows.count() >= 5, "the job should propose at least five volunteers in Quantang"
    expect(rows.first.locator("td.explain")).to_contain_text("公里")  # reasons in Chinese
    for i in range(2):
        rows.nth(i).get_by_role("button", name=re.compile("^采纳")).click()
        expect(rows.nth(i).locator("td.status")).to_have_text("已采纳")
    rows.nth(2).get_by_role("button", name=re.compile("^否决")).click()
    expect(rows.nth(2).locator("td.status")).to_have_text("已否决")
    for i in (3, 4):
        rows.nth(i).get_by_role("checkbox").check()
    page.get_by_role("button", name="批量锁定").click()
    for i in (3, 4):
        expect(rows.nth(i).locator("td.status")).to_have_text("已锁定")
    screenshot(page, "matching")
    page.locator(".chart").screenshot(path=str(SCREENSHOTS / "matching-map.png"))

    # Re-run from these decisions: the accepted and pinned pairs are kept (pinned), the rejected
    # pair is not proposed again.
    rejected = (
        rows.nth(2).locator("td").nth(2).inner_text(),
        rows.nth(2).locator("td").nth(3).inner_text(),
    )
    page.get_by_role("button", name="按现有决定重新计算").click()
    expect(page.get_by_role("link", name="上一轮")).to_be_visible()
    expect(page.locator("[data-job-status]")).to_have_attribute(
        "data-job-status", "SUCCEEDED", timeout=60_000
    )
    page.get_by_label("建议类型").select_option("VOLUNTEER")
    expect(page.locator("tr[data-proposal] td.status").filter(has_text="已锁定")).to_have_count(4)
    page.get_by_label("建议状态").select_option("PROPOSED")
    expect(rows.first).to_be_visible()
    fresh = [rows.nth(i).get_attribute("data-proposal") for i in range(2)]
    accepted = [rows.nth(i).locator("td").nth(2).inner_text() for i in range(2)]
    pairs = [
        (r.locator("td").nth(2).inner_text(), r.locator("td").nth(3).inner_text())
        for r in rows.all()
    ]
    assert rejected not in pairs
    page.get_by_label("建议状态").select_option("")
    for proposal in fresh:
        row = page.locator(f'tr[data-proposal="{proposal}"]')
        row.get_by_role("button", name=re.compile("^采纳")).click()
        expect(row.locator("td.status")).to_have_text("已采纳")

    page.get_by_role("button", name=re.compile("^提交派单")).click()
    page.get_by_role("dialog", name="提交派单").get_by_role("button", name="提交").click()
    expect(page.locator(".flash").filter(has_text="已派单")).to_be_visible()
    expect(page.locator("[data-job-status]")).to_have_attribute("data-job-status", "COMMITTED")

    # The board shows the dispatched needs, with their 1341 countdowns.
    for title in accepted:
        row = board.locator("tr[data-need]").filter(
            has=board.get_by_role("link", name=title, exact=True)
        )
        expect(row.first.locator("td.status")).to_have_text("已派单")
        expect(row.first.locator(".countdown")).to_contain_text("到场")
    screenshot(board, "board")
    board.context.close()


def test_board_accepts_a_need_and_its_page_shows_the_timeline(page: Any, console_url: str) -> None:
    sign_in(page, console_url, "demo-coordinator")
    # First paint of the board, from navigation to its rows (the issue asks for under 1 s on
    # loopback; the bound here leaves room for a loaded CI machine).
    page.reload()
    page.locator("tr[data-need]").first.wait_for()
    first_paint_ms = page.evaluate("performance.now()")
    print(f"board first paint: {first_paint_ms:.0f} ms")
    assert first_paint_ms < 3000
    status = page.get_by_label("状态", exact=True)
    shown = page.locator("tr[data-need] td.status")
    status.select_option("REPORTED")
    expect(shown.filter(has_not_text="已上报")).to_have_count(0)
    first = page.locator("tr[data-need]").first
    need, title = first.get_attribute("data-need"), first.get_by_role("link").first.inner_text()
    row = page.locator(f'tr[data-need="{need}"]')
    row.get_by_role("button", name=re.compile("^受理")).click()
    expect(page.locator(".flash").filter(has_text="已受理")).to_be_visible()
    expect(row).to_have_count(0)  # the board reloaded: it is no longer a reported need
    status.select_option("ACCEPTED")
    expect(shown.filter(has_not_text="已受理")).to_have_count(0)
    row.get_by_role("link", name=title, exact=True).click()
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    timeline = page.get_by_role("list", name="办理过程")
    expect(timeline).to_contain_text("上报")
    expect(timeline).to_contain_text("受理")
    page.get_by_label("原因").fill("涉及多个部门，需要升级处理")
    page.get_by_role("button", name="升级", exact=True).click()
    expect(timeline).to_contain_text("升级")
    screenshot(page, "need")


def test_helper_works_through_their_queue(page: Any, console_url: str) -> None:
    page.set_viewport_size({"width": 1024, "height": 768})  # a tablet
    sign_in(page, console_url, "demo-helper")
    expect(page.get_by_role("heading", name="营商气象站 · 我的诉求")).to_be_visible()
    rows = page.locator("tr[data-request]")
    expect(rows.first).to_be_visible()
    # Overdue first.
    overdue = [
        ("overdue" in (rows.nth(i).get_attribute("class") or "")) for i in range(rows.count())
    ]
    assert overdue == sorted(overdue, reverse=True)
    rows.first.get_by_role("button").click()
    detail = page.locator("aside.detail")
    detail.get_by_label("办理记录").fill("已电话联系企业，材料齐全")
    detail.get_by_role("button", name="记录进展").click()
    expect(detail.get_by_role("list", name="办理过程")).to_contain_text("已电话联系企业")
    detail.get_by_label("办理记录").fill("已协调相关部门办结")
    detail.get_by_role("button", name="办结").click()
    expect(page.locator(".flash").filter(has_text="已办结")).to_be_visible()
    expect(detail.locator(".status").first).to_have_text("已办结")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "enterprise")
    # 抢单: the pool of requests nobody carries; claiming one puts it in the helper's queue.
    page.get_by_role("button", name="待认领").click()
    expect(page.get_by_role("heading", name="营商气象站 · 待认领")).to_be_visible()
    # (rows nobody carries: the helper column shows "—"; the old queue may still be on screen)
    pool = page.locator("tr[data-request]").filter(has=page.locator("td:last-child", has_text="—"))
    expect(pool.first).to_be_visible()
    title = pool.first.get_by_role("button").inner_text()
    pool.first.get_by_role("button").click()
    page.locator("aside.detail").get_by_role("button", name="认领（抢单）").click()
    expect(page.locator(".flash").filter(has_text="已认领")).to_be_visible()
    page.get_by_role("button", name="我的诉求").click()
    expect(page.locator("tr[data-request]").filter(has_text=title)).to_be_visible()


def test_coordinator_switches_the_area_mode_after_confirming(page: Any, console_url: str) -> None:
    sign_in(page, console_url, "demo-coordinator")
    page.get_by_role("link", name="平急转换").click()
    row = page.locator("tr[data-area]")
    expect(row).to_have_count(1)
    row.get_by_role("button", name="切换为急时").click()
    dialog = page.get_by_role("dialog", name="确认平急转换")
    dialog.get_by_role("button", name="取消").click()  # nothing happens without confirming
    expect(row.locator("td").nth(2)).to_have_text("平时")
    row.get_by_role("button", name="切换为急时").click()
    dialog.get_by_label("原因").fill("暴雨红色预警")
    dialog.get_by_role("button", name="切换为急时").click()
    expect(row.locator("td").nth(2)).to_have_text("急时")
    screenshot(page, "mode")
    row.get_by_role("button", name="切换为平时").click()  # back, for the other tests
    dialog.get_by_label("原因").fill("预警解除")
    dialog.get_by_role("button", name="切换为平时").click()
    expect(row.locator("td").nth(2)).to_have_text("平时")


def test_grid_worker_gets_the_board_without_coordinators_steps(page: Any, console_url: str) -> None:
    sign_in(page, console_url, "demo-gridworker")
    menu = page.get_by_role("navigation", name="主菜单").get_by_role("link")
    expect(menu).to_have_text(["社区工作台", "数据看板", "GraphiQL"])
    page.get_by_label("状态", exact=True).select_option("DISPATCHED")
    shown = page.locator("tr[data-need] td.status")
    expect(shown.filter(has_not_text="已派单")).to_have_count(0)
    expect(shown.first).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^派给网格员"))).to_have_count(0)
    page.locator("tr[data-need]").first.get_by_role("link", name=re.compile("^详情")).click()
    expect(page.get_by_role("button", name="到场")).to_be_visible()  # staff may arrive
    expect(page.get_by_role("form", name="派单")).to_have_count(0)


def _api(page: Any, base: str, query: str, variables: dict[str, Any], token: str = "") -> Any:
    """A GraphQL request from outside the console (another user's app)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = {"query": query, "variables": variables}
    answer = page.request.post(base + "/graphql", data=body, headers=headers).json()
    assert "errors" not in answer, answer
    return answer["data"]


def _token(page: Any, base: str, username: str) -> str:
    login = """mutation($u: String!, $p: String!) { login(username: $u, password: $p) {
      token userErrors { message } } }"""
    return _api(page, base, login, {"u": username, "p": DEMO_PASSWORD})["login"]["token"]


def test_coordinator_answers_offers_from_the_need_page(page: Any, console_url: str) -> None:
    """请缨 without GraphQL: the volunteer offers from their app; the coordinator finds the needs
    with offers waiting on the board, reads who offered and what they said, accepts one (the
    volunteer is dispatched) and declines another with a reason the volunteer is told."""
    volunteer = _token(page, console_url, "demo-volunteer")
    coordinator = _token(page, console_url, "demo-coordinator")
    # Two open needs of the coordinator's community (泉塘) that the volunteer may offer on
    # (earlier tests dispatch some: the first two that take an offer).
    open_needs = """{ needs(first: 100, filter: {open: true, status: [REPORTED, ACCEPTED]}) {
      nodes { id title } } }"""
    candidates = _api(page, console_url, open_needs, {}, coordinator)["needs"]["nodes"]
    offer = """mutation($input: OfferNeedInput!) { offerNeed(input: $input) {
      offer { id } userErrors { message } } }"""
    needs: list[dict[str, str]] = []
    notes = ("我就住隔壁楼，十分钟到", "周末都有空")
    for need in candidates:
        variables = {"input": {"needId": need["id"], "note": notes[len(needs)]}}
        if not _api(page, console_url, offer, variables, volunteer)["offerNeed"]["userErrors"]:
            needs.append(need)
        if len(needs) == 2:
            break
    assert len(needs) == 2

    sign_in(page, console_url, "demo-coordinator")
    page.get_by_label("有请缨待处理").check()
    rows = page.locator("tr[data-need]")
    for need in needs:
        expect(rows.filter(has_text=need["title"])).to_have_count(1)
    taken, refused = needs
    rows.filter(has_text=taken["title"]).get_by_role("link", name=re.compile("^详情")).click()
    offers = page.get_by_role("table", name="请缨")
    expect(offers).to_contain_text("我就住隔壁楼，十分钟到")
    offers.get_by_role("button", name=re.compile("^采纳")).click()
    expect(page.locator(".flash").filter(has_text="已采纳并派单")).to_be_visible()
    expect(offers.locator("td.status")).to_have_text("已派单")
    expect(page.get_by_role("list", name="办理过程")).to_contain_text("派单")

    page.goto(console_url + "/#/need/" + refused["id"])
    offers = page.get_by_role("table", name="请缨")
    decline = offers.get_by_role("button", name=re.compile("^不采纳"))
    expect(decline).to_be_disabled()  # a reason first: the volunteer is told it
    page.get_by_label(re.compile("^不采纳的原因")).fill("本次人手已够，谢谢")
    decline.click()
    expect(page.locator(".flash").filter(has_text="未采纳")).to_be_visible()
    expect(offers.locator("td.status")).to_contain_text("协调员未采纳：本次人手已够，谢谢")
    expect(offers).to_contain_text("周末都有空")  # the volunteer's own words stay
    screenshot(page, "offers")
    mine = "{ me { myOffers(first: 5) { nodes { status declinedBecause answer } } } }"
    told = _api(page, console_url, mine, {}, volunteer)["me"]["myOffers"]["nodes"]
    assert {
        "status": "DECLINED",
        "declinedBecause": "COORDINATOR",
        "answer": "本次人手已够，谢谢",
    } in told


def test_coordinator_publishes_and_cancels_an_activity(page: Any, console_url: str) -> None:
    """The office's week without GraphQL: publish an activity at a venue of the community, see
    a volunteer's sign-up counted, then cancel it with the reason the volunteer is told."""
    sign_in(page, console_url, "demo-coordinator")
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="志愿活动").click()
    expect(page.get_by_role("heading", name="志愿活动 · 泉塘社区")).to_be_visible()
    form = page.get_by_role("form", name="发布活动")
    form.get_by_label("组织方").select_option(index=1)
    form.get_by_label("活动名称").fill("义善庐陵·敬老助餐（控制台）")
    form.get_by_label("内容").fill("为独居老人送午餐")
    form.get_by_label("开始").fill("2031-05-06T10:00")
    form.get_by_label("结束").fill("2031-05-06T12:00")
    form.get_by_label("名额").fill("8")
    form.get_by_label("场所").select_option(index=1)
    form.get_by_role("button", name="发布").click()
    expect(page.locator(".flash").filter(has_text="已发布")).to_be_visible()
    row = page.locator("tr[data-activity]").filter(has_text="义善庐陵·敬老助餐（控制台）")
    expect(row.locator("td.status")).to_have_text("报名中")
    expect(row).to_contain_text("0 / 8")

    volunteer = _token(page, console_url, "demo-volunteer")
    sign_up = """mutation($input: SignUpInput!) { signUp(input: $input) {
      signUp { id } userErrors { message } } }"""
    activity = row.get_attribute("data-activity")
    made = _api(page, console_url, sign_up, {"input": {"activityId": activity}}, volunteer)
    assert made["signUp"]["userErrors"] == [], made
    past = page.get_by_role("checkbox", name="含已结束、已取消")
    past.check()  # each change reloads the list
    past.uncheck()
    expect(row).to_contain_text("1 / 8")
    screenshot(page, "activities")

    row.get_by_role("button", name=re.compile("^取消活动")).click()
    dialog = page.get_by_role("dialog", name="确认取消活动")
    expect(dialog).to_contain_text("已报名的 1 人会收到通知")
    dialog.get_by_label("原因（告知已报名的人）").fill("暴雨预警，改期举行")
    dialog.get_by_role("button", name="取消活动").click()
    expect(row).to_have_count(0)  # no longer open
    past.check()
    expect(row.locator("td.status")).to_contain_text("已取消")
    expect(row).to_contain_text("暴雨预警，改期举行")
    told = """{ myNotifications(first: 5) { nodes { kind body } } }"""
    notes = _api(page, console_url, told, {}, volunteer)["myNotifications"]["nodes"]
    assert any(n["kind"] == "ACTIVITY_CANCELLED" and "暴雨预警" in n["body"] for n in notes), notes
