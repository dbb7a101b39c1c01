// 数据看板: the article's headline figures and the county's charts, all from `countyStats`
// (public: it needs no account).
import { html, useData, Loading, label, values, fmtNumber, fmtPercent } from "./ui.js";
import { gql } from "./api.js";
import { Chart } from "./charts.js";

const STATS = `query Dashboard {
  countyStats {
    pairedUnits partyMembers urbanGrids ruralGrids serviceStations enterpriseHelpers volunteerTeams enterpriseRequests
    needsByTier { tier open overdue dispatched arrivedOnTime { count total percent } resolvedOnTime { count total percent } }
    satisfaction {
      overall { count total percent } hotline { count total percent } enterprise { count total percent }
      byCommunity { rate { total percent } community { id name } }
    }
    enterpriseRequestsByStatus { status count overdue }
    serviceHoursByTeam { hours team { id name } }
  }
}`;

/** The last `n` calendar months, oldest first: { name: "2026-03", from, to } (ISO instants). */
export function lastMonths(n, now = new Date()) {
  const out = [];
  for (let k = n - 1; k >= 0; k--) {
    const from = new Date(now.getFullYear(), now.getMonth() - k, 1);
    const to = new Date(now.getFullYear(), now.getMonth() - k + 1, 1);
    const name = from.getFullYear() + "-" + String(from.getMonth() + 1).padStart(2, "0");
    out.push({ name, from: from.toISOString(), to: to.toISOString() });
  }
  return out;
}

/** Needs reported per source and month. `countyStats` has no such breakdown, so this counts
 * with `needs(filter:)`'s totalCount: one request per source, one alias per month. */
async function volumesBySource() {
  const months = lastMonths(6);
  const fields = months
    .map((m, i) => `m${i}: needs(filter: { source: $source, reportedAfter: "${m.from}", reportedBefore: "${m.to}" }) { totalCount }`)
    .join("\n");
  const sources = values("NeedSource");
  const answers = await Promise.all(
    sources.map((source) => gql(`query Volumes($source: [NeedSource!]) {\n${fields}\n}`, { source: [source] })),
  );
  return {
    animation: false,
    title: { text: "诉求量（按来源，近六个月）", left: "center", textStyle: { fontSize: 14 } },
    tooltip: { trigger: "axis" },
    legend: { bottom: 0 },
    grid: { left: 50, right: 20, top: 40, bottom: 60 },
    xAxis: { type: "category", data: months.map((m) => m.name) },
    yAxis: { type: "value" },
    series: sources.map((source, k) => ({
      name: label("NeedSource", source),
      type: "line",
      data: months.map((_, i) => answers[k]["m" + i].totalCount),
    })),
  };
}

export const HEADLINES = [
  ["pairedUnits", "结对共建单位"],
  ["partyMembers", "在职党员"],
  ["urbanGrids", "城市网格"],
  ["ruralGrids", "农村网格"],
  ["serviceStations", "小区党群服务站"],
  ["enterpriseHelpers", "小赣事"],
  ["volunteerTeams", "新业态服务队"],
  ["enterpriseRequests", "营商气象站诉求"],
];

function bars(title, names, series, { percent = false, horizontal = false } = {}) {
  const category = { type: "category", data: names, axisLabel: { interval: 0, width: 90, overflow: "truncate" } };
  const value = { type: "value", max: percent ? 100 : null, axisLabel: { formatter: percent ? "{value}%" : "{value}" } };
  return {
    animation: false,
    title: { text: title, left: "center", textStyle: { fontSize: 14 } },
    tooltip: { trigger: "axis" },
    legend: { bottom: 0 },
    grid: { left: horizontal ? 110 : 50, right: 20, top: 40, bottom: 50 },
    xAxis: horizontal ? value : category,
    yAxis: horizontal ? category : value,
    series: series.map(([name, data]) => ({ name, type: "bar", data, label: { show: !horizontal, position: "top" } })),
  };
}

export function dashboardOptions(s) {
  const tiers = s.needsByTier.map((t) => label("NeedTier", t.tier));
  const pct = (r) => (r.percent === null ? null : Number(r.percent.toFixed(1)));
  const communities = [...s.satisfaction.byCommunity]
    .filter((c) => c.rate.total > 0)
    .sort((a, b) => b.rate.total - a.rate.total)
    .slice(0, 15)
    .reverse();
  const teams = [...s.serviceHoursByTeam].sort((a, b) => b.hours - a.hours).slice(0, 12).reverse();
  return {
    onTime: bars("1341 按时率（按分级）", tiers, [
      ["到场按时率", s.needsByTier.map((t) => pct(t.arrivedOnTime))],
      ["办结按时率", s.needsByTier.map((t) => pct(t.resolvedOnTime))],
    ], { percent: true }),
    satisfaction: bars("满意率（诉求最多的社区）", communities.map((c) => c.community.name), [
      ["满意率", communities.map((c) => pct(c.rate))],
    ], { percent: true, horizontal: true }),
    enterprise: {
      animation: false,
      title: { text: "营商气象站诉求（按状态）", left: "center", textStyle: { fontSize: 14 } },
      tooltip: { trigger: "item" },
      legend: { bottom: 0 },
      series: [{
        type: "pie", radius: ["35%", "65%"],
        data: s.enterpriseRequestsByStatus.map((e) => ({ name: label("EnterpriseRequestStatus", e.status), value: e.count })),
        label: { formatter: "{b}：{c}" },
      }],
    },
    hours: bars("志愿服务时长（小时，按服务队）", teams.map((t) => t.team.name), [
      ["服务时长", teams.map((t) => Math.round(t.hours))],
    ], { horizontal: true }),
  };
}

function Volumes() {
  const state = useData(volumesBySource, []);
  if (state.error) return html`<p class="muted">诉求量图表不可用：${state.error.message}</p>`;
  if (!state.data) return html`<p class="loading">加载中…</p>`;
  return html`<${Chart} option=${state.data} label="各来源月度诉求量" />`;
}

export function Dashboard() {
  const state = useData(() => gql(STATS), []);
  return html`<section aria-labelledby="dash-title">
    <h1 id="dash-title">数据看板</h1>
    <${Loading} state=${state}>${() => {
      const s = state.data.countyStats;
      const o = dashboardOptions(s);
      return html`
        <dl class="figures headline" aria-label="主要数字">
          ${HEADLINES.map(([k, t]) => html`<div class="figure" data-figure=${k}><dt>${t}</dt><dd>${fmtNumber(s[k])}</dd></div>`)}
        </dl>
        <dl class="figures" aria-label="满意率">
          <div class="figure"><dt>群众诉求满意率</dt><dd>${fmtPercent(s.satisfaction.overall)}</dd></div>
          <div class="figure"><dt>12345 热线满意率</dt><dd>${fmtPercent(s.satisfaction.hotline)}</dd></div>
          <div class="figure"><dt>企业诉求满意率</dt><dd>${fmtPercent(s.satisfaction.enterprise)}</dd></div>
          ${s.needsByTier.map((t) => html`<div class="figure"><dt>${label("NeedTier", t.tier)} 未办结 / 超时</dt>
            <dd>${fmtNumber(t.open)} / <span class="late">${fmtNumber(t.overdue)}</span></dd></div>`)}
        </dl>
        <div class="charts">
          <${Chart} option=${o.onTime} label="1341 按时率" summary=${s.needsByTier.map((t) => label("NeedTier", t.tier) + " 办结按时率 " + fmtPercent(t.resolvedOnTime)).join("；")} />
          <${Chart} option=${o.enterprise} label="营商气象站诉求状态" summary=${s.enterpriseRequestsByStatus.map((e) => label("EnterpriseRequestStatus", e.status) + " " + e.count).join("；")} />
          <${Chart} option=${o.satisfaction} label="各社区满意率" />
          <${Chart} option=${o.hours} label="各服务队服务时长" />
          <${Volumes} />
        </div>`;
    }}<//>
  </section>`;
}
