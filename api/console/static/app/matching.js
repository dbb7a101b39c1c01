// 智能匹配: start a job, follow its progress live (`matchingJobProgress`), review its proposals
// (accept / reject / pin, one by one or many in one request), re-run it from its decisions, and
// commit; the unmatched needs with their reasons, and a map drawn from the data's coordinates.
import { html, useEffect, useMemo, useState, useData, Loading, label, fmtTime, fmtNumber, attempt, flash, ConfirmDialog } from "./ui.js";
import { gql, mutate, subscribe } from "./api.js";
import { useCommunity, CommunityPicker } from "./community.js";
import { MatchMap } from "./matchmap.js";
import { reasonsText } from "./reasons.js";

const JOB_FIELDS = `id status kinds emergency timeLimitS createdAt startedAt finishedAt progress
  objective bound gap optimal seconds seatsFilled seatsTotal error
  scopeCommunity { id name } parentJob { id }`;

const JOBS = `query Jobs { matchingJobs(first: 15) { edges { node { ${JOB_FIELDS} } } } }`;

const START = `mutation Start($input: StartMatchingJobInput!) {
  startMatchingJob(input: $input) { job { id status } userErrors { message code field } }
}`;

const PROPOSAL = `id kind status cost quantity message reasons decidedAt
  need { id title tier status latitude longitude }
  enterpriseRequest { id title status }
  person { id name latitude longitude }
  resource { id name latitude longitude }`;

const JOB = `query Job($id: ID!, $after: String) {
  matchingJob(id: $id) {
    ${JOB_FIELDS}
    scopeCommunity { id name latitude longitude grids { id name latitude longitude } }
    proposals(first: 100, after: $after) {
      totalCount pageInfo { hasNextPage endCursor }
      edges { node { ${PROPOSAL} } }
    }
    unmatched { id seatsOpen message reasons need { id title tier latitude longitude } enterpriseRequest { id title } }
  }
}`;
const MORE = `query More($id: ID!, $after: String) {
  matchingJob(id: $id) { proposals(first: 100, after: $after) {
    pageInfo { hasNextPage endCursor } edges { node { ${PROPOSAL} } } } }
}`;

const PROGRESS = `subscription Progress($id: ID!) { matchingJobProgress(jobId: $id) { ${JOB_FIELDS} } }`;

const COMMIT = `mutation Commit($id: ID!) {
  commitMatchingJob(jobId: $id) {
    job { id status }
    committed { id }
    stale { id message need { title } enterpriseRequest { title } }
    userErrors { message code }
  }
}`;

const DECISIONS = { ACCEPT: ["acceptProposal", "采纳"], REJECT: ["rejectProposal", "否决"], PIN: ["pinProposal", "锁定"] };
const BULK_SIZE = 25; // aliases in one request stay under the API's limit (LULING_MAX_ALIASES, 30)

/** Decides proposals: one mutation per proposal, as aliases of one document per BULK_SIZE. */
async function decide(ids, decision) {
  const [field] = DECISIONS[decision];
  const failed = [];
  for (let i = 0; i < ids.length; i += BULK_SIZE) {
    const chunk = ids.slice(i, i + BULK_SIZE);
    const vars = chunk.map((_, k) => `$p${k}: ID!`).join(", ");
    const body = chunk
      .map((_, k) => `d${k}: ${field}(proposalId: $p${k}) { proposal { id status } userErrors { message } }`)
      .join("\n");
    const variables = Object.fromEntries(chunk.map((id, k) => ["p" + k, id]));
    const data = await gql(`mutation Decide(${vars}) {\n${body}\n}`, variables);
    chunk.forEach((_, k) => data["d" + k].userErrors.forEach((e) => failed.push(e.message)));
  }
  if (failed.length) throw new Error(failed.length + " 项未能" + DECISIONS[decision][1] + "：" + failed[0]);
  return ids.length;
}

const ACTIVE = ["QUEUED", "RUNNING"];

/** A job's number as staff say it (#12), from its global ID ("MatchingJob:12" in base64). */
export function jobNo(id) {
  try {
    return "#" + atob(id).split(":").pop();
  } catch (e) {
    return id;
  }
}

function StartForm({ account }) {
  const [community, setCommunity] = useCommunity(account);
  const [kinds, setKinds] = useState(["VOLUNTEER", "RESOURCE", "HELPER"]);
  const [seconds, setSeconds] = useState(5);
  const [emergency, setEmergency] = useState(false);
  const [weights, setWeights] = useState({ travelPerMinute: "", homeCommunity: "", fairness: "", commando: "" });
  const submit = async (e) => {
    e.preventDefault();
    const w = Object.fromEntries(Object.entries(weights).filter(([, v]) => v !== "").map(([k, v]) => [k, Number(v)]));
    const input = {
      scopeCommunityId: community || null,
      kinds,
      timeLimitSeconds: Number(seconds),
      emergency,
      weights: Object.keys(w).length ? w : null,
    };
    const payload = await attempt(() => mutate(START, { input }, "startMatchingJob"), "匹配任务已开始");
    if (payload) location.hash = "#/matching/" + encodeURIComponent(payload.job.id);
  };
  const toggle = (k) => setKinds(kinds.includes(k) ? kinds.filter((x) => x !== k) : [...kinds, k]);
  return html`<form class="card start" onSubmit=${submit} aria-label="新建匹配任务">
    <h2>新建匹配任务</h2>
    <div class="row">
      <span>范围：${account.communityId ? "本社区" : ""}</span>
      <${CommunityPicker} account=${account} value=${community} onChange=${setCommunity} />
      ${!account.communityId && html`<span class="muted small">（不选则全县）</span>`}
    </div>
    <fieldset class="row"><legend>匹配对象</legend>
      ${["VOLUNTEER", "RESOURCE", "HELPER"].map(
        (k) => html`<label class="check"><input type="checkbox" checked=${kinds.includes(k)} onChange=${() => toggle(k)} />
          ${label("ProposalKind", k)}</label>`,
      )}
    </fieldset>
    <div class="row">
      <label>时限（秒）<input type="number" min="1" max="120" step="1" value=${seconds} onInput=${(e) => setSeconds(e.target.value)} /></label>
      <label class="check"><input type="checkbox" checked=${emergency} onChange=${(e) => setEmergency(e.target.checked)} /> 急时权重（速度优先）</label>
    </div>
    <details><summary>权重（留空用默认值）</summary>
      <div class="row">
        ${[["travelPerMinute", "路程（每分钟）"], ["homeCommunity", "本社区优先"], ["fairness", "均衡"], ["commando", "突击队"]].map(
          ([k, t]) => html`<label>${t}<input type="number" step="any" value=${weights[k]}
            onInput=${(e) => setWeights({ ...weights, [k]: e.target.value })} /></label>`,
        )}
      </div>
    </details>
    <button type="submit" class="primary" disabled=${!kinds.length}>开始匹配</button>
  </form>`;
}

export function Matching({ account }) {
  const jobs = useData(() => gql(JOBS), []);
  return html`<section aria-labelledby="matching-title">
    <h1 id="matching-title">智能匹配</h1>
    <${StartForm} account=${account} />
    <h2>最近的任务</h2>
    <${Loading} state=${jobs}>${() => html`<table class="grid-table">
      <thead><tr><th scope="col">任务</th><th scope="col">范围</th><th scope="col">状态</th>
        <th scope="col">已安排/需求</th><th scope="col">创建</th></tr></thead>
      <tbody>${jobs.data.matchingJobs.edges.map(({ node: j }) => html`<tr key=${j.id}>
        <td><a href=${"#/matching/" + encodeURIComponent(j.id)}>${jobNo(j.id)}${j.parentJob ? "（重算）" : ""}</a></td>
        <td>${j.scopeCommunity ? j.scopeCommunity.name : "全县"}</td>
        <td>${label("JobStatus", j.status)}</td>
        <td>${j.seatsFilled ?? "—"} / ${j.seatsTotal ?? "—"}</td>
        <td>${fmtTime(j.createdAt)}</td></tr>`)}</tbody>
    </table>`}<//>
  </section>`;
}

function Progress({ job }) {
  const pct = Math.round((job.progress || 0) * 100);
  return html`<div class="progress-wrap">
    <progress max="100" value=${pct} aria-label="匹配进度">${pct}%</progress>
    <span>${label("JobStatus", job.status)} ${pct}%</span>
  </div>`;
}

function Figures({ job }) {
  const items = [
    ["目标值", fmtNumber(job.objective, 1)],
    ["下界", fmtNumber(job.bound, 1)],
    ["差距", job.gap === null ? "—" : (job.gap * 100).toFixed(2) + "%"],
    ["最优", job.optimal === null ? "—" : job.optimal ? "是" : "否"],
    ["已安排席位", (job.seatsFilled ?? "—") + " / " + (job.seatsTotal ?? "—")],
    ["用时", job.seconds === null ? "—" : job.seconds.toFixed(1) + " 秒"],
  ];
  return html`<dl class="figures" aria-label="匹配结果">
    ${items.map(([t, v]) => html`<div class="figure"><dt>${t}</dt><dd>${v}</dd></div>`)}
  </dl>`;
}

function target(p) {
  return p.need ? p.need.title : p.enterpriseRequest ? p.enterpriseRequest.title : "—";
}
function who(p) {
  return p.person ? p.person.name : p.resource ? p.resource.name : "—";
}

const SORTS = {
  cost: (a, b) => a.cost - b.cost,
  kind: (a, b) => a.kind.localeCompare(b.kind),
  status: (a, b) => a.status.localeCompare(b.status),
  target: (a, b) => target(a).localeCompare(target(b), "zh-CN"),
};

function Proposals({ proposals, editable, onChanged }) {
  const [status, setStatus] = useState("");
  const [kind, setKind] = useState("");
  const [text, setText] = useState("");
  const [sort, setSort] = useState(["cost", 1]);
  const [selected, setSelected] = useState([]);
  const rows = useMemo(() => {
    const t = text.trim();
    const out = proposals.filter(
      (p) => (!status || p.status === status) && (!kind || p.kind === kind) &&
        (!t || (target(p) + who(p) + reasonsText(p.reasons, p.message)).includes(t)),
    );
    return out.sort((a, b) => SORTS[sort[0]](a, b) * sort[1]);
  }, [proposals, status, kind, text, sort]);
  const run = async (ids, decision) => {
    const n = await attempt(() => decide(ids, decision), DECISIONS[decision][1] + " " + ids.length + " 项");
    if (n) setSelected([]);
    onChanged();
  };
  const head = (key, title) => html`<th scope="col" aria-sort=${sort[0] === key ? (sort[1] > 0 ? "ascending" : "descending") : "none"}>
    <button type="button" class="link" onClick=${() => setSort([key, sort[0] === key ? -sort[1] : 1])}>${title}</button></th>`;
  const open = rows.filter((p) => p.status !== "COMMITTED" && p.status !== "STALE");
  const all = open.length > 0 && open.every((p) => selected.includes(p.id));
  return html`<div class="proposals">
    <div class="filters" role="group" aria-label="筛选建议">
      <label>状态 <select aria-label="建议状态" value=${status} onChange=${(e) => setStatus(e.target.value)}>
        <option value="">全部</option>
        ${["PROPOSED", "ACCEPTED", "REJECTED", "PINNED", "COMMITTED", "STALE"].map((s) => html`<option value=${s}>${label("ProposalStatus", s)}</option>`)}
      </select></label>
      <label>类型 <select aria-label="建议类型" value=${kind} onChange=${(e) => setKind(e.target.value)}>
        <option value="">全部</option>
        ${["VOLUNTEER", "RESOURCE", "HELPER"].map((s) => html`<option value=${s}>${label("ProposalKind", s)}</option>`)}
      </select></label>
      <label>搜索 <input type="search" value=${text} onInput=${(e) => setText(e.target.value)} /></label>
      ${editable && html`<span class="bulk" aria-label="批量操作">已选 ${selected.length} 项
        ${Object.entries(DECISIONS).map(([d, [, t]]) => html`<button type="button" disabled=${!selected.length}
          onClick=${() => run(selected, d)}>批量${t}</button>`)}</span>`}
    </div>
    <table class="grid-table">
      <caption class="sr-only">匹配建议</caption>
      <thead><tr>
        ${editable && html`<th scope="col"><input type="checkbox" aria-label="全选" checked=${all}
          onChange=${() => setSelected(all ? [] : open.map((p) => p.id))} /></th>`}
        ${head("kind", "类型")}${head("target", "诉求/企业诉求")}<th scope="col">人员/资源</th>
        ${head("cost", "代价")}<th scope="col">理由</th>${head("status", "状态")}
        ${editable && html`<th scope="col">决定</th>`}
      </tr></thead>
      <tbody>${rows.map((p) => html`<tr key=${p.id} data-proposal=${p.id} class=${"proposal-" + p.status}>
        ${editable && html`<td><input type="checkbox" aria-label=${"选择 " + target(p) + " " + who(p)}
          disabled=${p.status === "COMMITTED" || p.status === "STALE"} checked=${selected.includes(p.id)}
          onChange=${() => setSelected(selected.includes(p.id) ? selected.filter((x) => x !== p.id) : [...selected, p.id])} /></td>`}
        <td>${label("ProposalKind", p.kind)}</td>
        <td>${p.need ? html`<a href=${"#/need/" + encodeURIComponent(p.need.id)}>${p.need.title}</a>` : target(p)}</td>
        <td>${who(p)}${p.quantity > 1 ? " ×" + p.quantity : ""}</td>
        <td class="num">${p.cost.toFixed(1)}</td>
        <td class="explain" title=${p.message}>${reasonsText(p.reasons, p.message)}</td>
        <td class="status">${label("ProposalStatus", p.status)}</td>
        ${editable && html`<td><span class="actions">
          ${Object.entries(DECISIONS).map(([d, [, t]]) => html`<button type="button" aria-label=${t + " " + target(p) + " " + who(p)}
            disabled=${p.status === "COMMITTED" || p.status === "STALE"} onClick=${() => run([p.id], d)}>${t}</button>`)}
        </span></td>`}
      </tr>`)}</tbody>
    </table>
  </div>`;
}

function Unmatched({ items }) {
  if (!items.length) return html`<p class="muted">所有诉求都已安排。</p>`;
  return html`<table class="grid-table" aria-label="未能安排">
    <thead><tr><th scope="col">诉求</th><th scope="col">空缺</th><th scope="col">原因</th></tr></thead>
    <tbody>${items.map((u) => html`<tr key=${u.id}>
      <td>${u.need ? html`<a href=${"#/need/" + encodeURIComponent(u.need.id)}>${u.need.title}</a>` : u.enterpriseRequest ? u.enterpriseRequest.title : "—"}</td>
      <td class="num">${u.seatsOpen}</td><td title=${u.message}>${reasonsText(u.reasons, u.message)}</td></tr>`)}</tbody>
  </table>`;
}

async function loadJob(id) {
  const data = await gql(JOB, { id });
  const job = data.matchingJob;
  if (!job) return { job: null };
  const proposals = job.proposals.edges.map((e) => e.node);
  let page = job.proposals.pageInfo;
  while (page.hasNextPage && proposals.length < 1000) {
    const more = (await gql(MORE, { id, after: page.endCursor })).matchingJob.proposals;
    proposals.push(...more.edges.map((e) => e.node));
    page = more.pageInfo;
  }
  return { job, proposals };
}

export function JobPage({ id, account }) {
  const state = useData(() => loadJob(id), [id]);
  const [live, setLive] = useState(null);
  const [confirm, setConfirm] = useState(false);
  const [stale, setStale] = useState([]);
  const job = state.data && state.data.job;
  const running = job && ACTIVE.includes(job.status);
  useEffect(() => {
    if (!running) return undefined;
    return subscribe(PROGRESS, { id }, (data) => {
      const j = data.matchingJobProgress;
      setLive(j);
      if (!ACTIVE.includes(j.status)) state.reload();
    });
  }, [id, running]);
  const commit = async () => {
    const payload = await attempt(() => mutate(COMMIT, { id }, "commitMatchingJob"));
    if (payload) {
      flash("已派单 " + payload.committed.length + " 项" + (payload.stale.length ? "，" + payload.stale.length + " 项已过期" : ""));
      setStale(payload.stale);
    }
    state.reload();
  };
  const rerun = async () => {
    const input = {
      parentJobId: job.id,
      scopeCommunityId: job.scopeCommunity ? job.scopeCommunity.id : null,
      kinds: job.kinds.map((k) => k.toUpperCase()),
      timeLimitSeconds: job.timeLimitS,
      emergency: job.emergency,
    };
    const payload = await attempt(() => mutate(START, { input }, "startMatchingJob"), "已按现有决定重新计算");
    if (payload) location.hash = "#/matching/" + encodeURIComponent(payload.job.id);
  };
  return html`<${Loading} state=${state}>${() => {
    if (!job) return html`<p class="error">没有这个匹配任务。</p>`;
    const shown = live && ACTIVE.includes(live.status) ? live : job;
    const editable = job.status === "SUCCEEDED";
    const decided = state.data.proposals.filter((p) => p.status === "ACCEPTED" || p.status === "PINNED").length;
    return html`<section aria-labelledby="job-title">
      <p><a href="#/matching">← 智能匹配</a></p>
      <div class="page-head">
        <h1 id="job-title">匹配任务 ${jobNo(job.id)} · ${job.scopeCommunity ? job.scopeCommunity.name : "全县"}</h1>
        <span class="status" data-job-status=${shown.status}>${label("JobStatus", shown.status)}</span>
        ${job.emergency && html`<strong class="emergency">急时权重</strong>`}
        ${job.parentJob && html`<a href=${"#/matching/" + encodeURIComponent(job.parentJob.id)}>上一轮</a>`}
      </div>
      ${ACTIVE.includes(shown.status) ? html`<${Progress} job=${shown} />` : html`<${Figures} job=${job} />`}
      ${job.error && html`<p class="error" role="alert">${job.error}</p>`}
      ${(editable || job.status === "COMMITTED") && html`
        <div class="toolbar">
          ${editable && html`<button type="button" class="primary" disabled=${!decided} onClick=${() => setConfirm(true)}>提交派单（${decided} 项）</button>`}
          ${editable && html`<button type="button" onClick=${rerun}>按现有决定重新计算</button>`}
        </div>
        ${stale.length > 0 && html`<div class="card warn" role="alert"><h3>已过期的建议</h3><ul>
          ${stale.map((p) => html`<li>${p.need ? p.need.title : p.enterpriseRequest ? p.enterpriseRequest.title : ""}：${p.message}</li>`)}</ul></div>`}
        <h2>匹配建议（${state.data.proposals.length}）</h2>
        <${Proposals} proposals=${state.data.proposals} editable=${editable} onChanged=${state.reload} />
        <h2>未能安排（${job.unmatched.length}）</h2>
        <${Unmatched} items=${job.unmatched} />
        <h2>地图</h2>
        <${MatchMap} job=${job} proposals=${state.data.proposals} />`}
      ${confirm && html`<${ConfirmDialog} title="提交派单" confirmLabel="提交"
        text=${"将把 " + decided + " 项已采纳或锁定的建议派单，并按 1341 时限计时。"}
        onConfirm=${commit} onClose=${() => setConfirm(false)} />`}
    </section>`;
  }}<//>`;
}
