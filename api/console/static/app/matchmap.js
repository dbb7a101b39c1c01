// The scope of a matching job on a plain longitude/latitude plane (no map tiles: nothing leaves
// the server's origin): grid centroids, needs, the people and resources proposed, and a line
// for each proposal, coloured by its status.
import { html, useMemo, label } from "./ui.js";
import { Chart } from "./charts.js";

const STATUS_COLOURS = {
  PROPOSED: "#64748b",
  ACCEPTED: "#16a34a",
  PINNED: "#2563eb",
  REJECTED: "#dc2626",
  COMMITTED: "#7c3aed",
  STALE: "#a16207",
};

export function mapOption(job, proposals) {
  const needs = new Map();
  const helpers = new Map();
  const lines = [];
  for (const p of proposals) {
    const from = p.person || p.resource;
    if (p.need) needs.set(p.need.id, p.need);
    if (from) helpers.set(from.id, from);
    if (p.need && from)
      lines.push({
        coords: [[from.longitude, from.latitude], [p.need.longitude, p.need.latitude]],
        lineStyle: { color: STATUS_COLOURS[p.status] },
        name: label("ProposalStatus", p.status),
      });
  }
  const unmatched = job.unmatched.filter((u) => u.need).map((u) => u.need);
  const grids = (job.scopeCommunity && job.scopeCommunity.grids) || [];
  const point = (x) => ({ name: x.title || x.name, value: [x.longitude, x.latitude] });
  return {
    animation: false,
    tooltip: { trigger: "item", formatter: (p) => p.seriesName + "：" + (p.name || "") },
    legend: { top: 0 },
    grid: { left: 60, right: 20, top: 40, bottom: 40 },
    xAxis: { type: "value", scale: true, name: "经度", axisLabel: { formatter: (v) => v.toFixed(3) } },
    yAxis: { type: "value", scale: true, name: "纬度", axisLabel: { formatter: (v) => v.toFixed(3) } },
    series: [
      { name: "网格中心", type: "scatter", symbol: "diamond", symbolSize: 12, itemStyle: { color: "#f59e0b" }, data: grids.map(point) },
      { name: "诉求", type: "scatter", symbolSize: 9, itemStyle: { color: "#b91c1c" }, data: [...needs.values()].map(point) },
      { name: "未安排", type: "scatter", symbol: "triangle", symbolSize: 10, itemStyle: { color: "#111827" }, data: unmatched.map(point) },
      { name: "人员/资源", type: "scatter", symbolSize: 7, itemStyle: { color: "#0891b2" }, data: [...helpers.values()].map(point) },
      { name: "建议", type: "lines", coordinateSystem: "cartesian2d", polyline: false, lineStyle: { width: 1, opacity: 0.7 }, data: lines },
    ],
  };
}

export function MatchMap({ job, proposals }) {
  const option = useMemo(() => mapOption(job, proposals), [job, proposals]);
  return html`<${Chart} option=${option} label="匹配地图"
    summary=${"诉求 " + option.series[1].data.length + " 处，人员/资源 " + option.series[3].data.length + " 处，建议连线 " + option.series[4].data.length + " 条"} />`;
}
