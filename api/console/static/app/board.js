// 社区工作台: a community's open needs, live through `needEvents`, with their 1341 countdowns,
// filters, and the quick steps each need's `allowedActions` allows.
import { html, useEffect, useState, useData, Loading, label, fmtTime, Countdown, EnumSelect, attempt, flash } from "./ui.js";
import { gql, mutate, subscribe, onSocket } from "./api.js";
import { useCommunity, CommunityPicker } from "./community.js";

export const NEED_ROW = `
  id title category source tier status urgency version overdue allowedActions
  reportedAt dispatchedAt arriveBy arrivedAt resolveBy
  grid { id name }
`;

const BOARD = `query Board($filter: NeedFilter!, $community: ID!) {
  community(id: $community) { id name mode grids { id name } }
  needs(filter: $filter, orderBy: { field: UPDATED_AT, direction: DESC }, first: 100) {
    totalCount
    edges { node { ${NEED_ROW} } }
  }
}`;

export const ACCEPT = `mutation Accept($input: AcceptNeedInput!) {
  acceptNeed(input: $input) { need { id status version } userErrors { message code } }
}`;
export const DISPATCH = `mutation Dispatch($input: DispatchNeedInput!) {
  dispatchNeed(input: $input) { need { id status version } userErrors { message code } }
}`;

const EVENTS = `subscription Board($community: ID!) {
  needEvents(communityId: $community) { id action toStatus at actorName need { id title } }
}`;

// Steps only coordinators and admins may take (api/auth/policy.py: COORDINATION); a need's
// `allowedActions` says what its status allows, whoever asks.
const COORDINATION_STEPS = ["DISPATCH", "ESCALATE", "RETURN", "MERGE"];

/** The steps of `need` this account may take. */
export function stepsFor(need, account) {
  const coordinating = account.role === "COORDINATOR" || account.role === "ADMIN";
  return need.allowedActions.filter((a) => coordinating || !COORDINATION_STEPS.includes(a));
}

function Filters({ filter, setFilter, grids }) {
  const set = (key) => (value) => setFilter({ ...filter, [key]: value });
  return html`<div class="filters" role="group" aria-label="筛选">
    <label>状态 <${EnumSelect} name="状态" enumName="NeedStatus" value=${filter.status} onChange=${set("status")}
      only=${["REPORTED", "ACCEPTED", "DISPATCHED", "ARRIVED", "RESOLVED"]} any="全部未关闭" /></label>
    <label>分级 <${EnumSelect} name="分级" enumName="NeedTier" value=${filter.tier} onChange=${set("tier")} /></label>
    <label>来源 <${EnumSelect} name="来源" enumName="NeedSource" value=${filter.source} onChange=${set("source")} /></label>
    <label>类别 <${EnumSelect} name="类别" enumName="NeedCategory" value=${filter.category} onChange=${set("category")} /></label>
    <label>网格 <select aria-label="网格" value=${filter.grid} onChange=${(e) => set("grid")(e.target.value)}>
      <option value="">全部</option>
      ${grids.map((g) => html`<option value=${g.id}>${g.name}</option>`)}
    </select></label>
    <label class="check"><input type="checkbox" checked=${filter.overdue}
      onChange=${(e) => set("overdue")(e.target.checked)} /> 只看超时</label>
    <label class="check"><input type="checkbox" checked=${filter.awaitingOffer}
      onChange=${(e) => set("awaitingOffer")(e.target.checked)} /> 有请缨待处理</label>
  </div>`;
}

function toFilter(community, f) {
  const filter = { community: [community], open: true };
  if (f.status) filter.status = [f.status];
  if (f.tier) filter.tier = [f.tier];
  if (f.source) filter.source = [f.source];
  if (f.category) filter.category = [f.category];
  if (f.grid) filter.grid = [f.grid];
  if (f.overdue) filter.overdue = true;
  if (f.awaitingOffer) filter.awaitingOffer = true;
  return filter;
}

function QuickActions({ need, account, onDone }) {
  const acts = stepsFor(need, account);
  const accept = () =>
    attempt(() => mutate(ACCEPT, { input: { needId: need.id, expectedVersion: need.version } }, "acceptNeed"), "已受理：" + need.title).then(onDone);
  const toGridWorker = () =>
    attempt(
      () => mutate(DISPATCH, { input: { needId: need.id, expectedVersion: need.version, toGridWorker: true } }, "dispatchNeed"),
      "已派给网格员：" + need.title,
    ).then(onDone);
  return html`<span class="actions">
    ${acts.includes("ACCEPT") && html`<button type="button" onClick=${accept} aria-label=${"受理 " + need.title}>受理</button>`}
    ${acts.includes("DISPATCH") && need.grid &&
    html`<button type="button" onClick=${toGridWorker} aria-label=${"派给网格员 " + need.title}>派给网格员</button>`}
    <a class="button" href=${"#/need/" + encodeURIComponent(need.id)} aria-label=${"详情 " + need.title}>详情</a>
  </span>`;
}

export function NeedTable({ needs, account, onDone, caption }) {
  return html`<table class="grid-table">
    <caption class="sr-only">${caption}</caption>
    <thead><tr>
      <th scope="col">诉求</th><th scope="col">分级</th><th scope="col">状态</th><th scope="col">1341 时限</th>
      <th scope="col">来源</th><th scope="col">网格</th><th scope="col">上报</th><th scope="col">操作</th>
    </tr></thead>
    <tbody>
      ${needs.map(
        (n) => html`<tr key=${n.id} data-need=${n.id} class=${n.overdue ? "overdue" : ""}>
          <td><a href=${"#/need/" + encodeURIComponent(n.id)}>${n.title}</a>
            <div class="muted small">${label("NeedCategory", n.category)}</div></td>
          <td><span class=${"tier tier-" + n.tier}>${label("NeedTier", n.tier)}</span></td>
          <td class="status">${label("NeedStatus", n.status)}</td>
          <td><${Countdown} need=${n} /></td>
          <td>${label("NeedSource", n.source)}</td>
          <td>${n.grid ? n.grid.name : "—"}</td>
          <td>${fmtTime(n.reportedAt)}</td>
          <td><${QuickActions} need=${n} account=${account} onDone=${onDone} /></td>
        </tr>`,
      )}
    </tbody>
  </table>`;
}

export function Board({ account }) {
  const [community, setCommunity] = useCommunity(account);
  const [filter, setFilter] = useState({ status: "", tier: "", source: "", category: "", grid: "", overdue: false, awaitingOffer: false });
  const [connected, setConnected] = useState(false);
  const [last, setLast] = useState(null);
  const state = useData(
    () => (community ? gql(BOARD, { community, filter: toFilter(community, filter) }) : Promise.resolve(null)),
    [community, JSON.stringify(filter)],
  );
  useEffect(() => {
    if (!community) return undefined;
    let timer = null;
    const stop = subscribe(
      EVENTS,
      { community },
      (data) => {
        setLast(data.needEvents);
        clearTimeout(timer);
        timer = setTimeout(state.reload, 300); // a burst of events (a commit) reloads once
      },
      (e) => flash("实时连接：" + e.message, "error"),
    );
    const unlisten = onSocket(setConnected);
    return () => {
      clearTimeout(timer);
      stop();
      unlisten();
    };
  }, [community]);
  return html`<section aria-labelledby="board-title">
    <div class="page-head">
      <h1 id="board-title">社区工作台${state.data && state.data.community ? " · " + state.data.community.name : ""}</h1>
      <${CommunityPicker} account=${account} value=${community} onChange=${setCommunity} />
      <span class=${"live " + (connected ? "on" : "")} aria-live="polite">
        ${connected ? "● 实时" : "○ 未连接"}
        ${last && html` · ${fmtTime(last.at)} ${last.actorName} ${label("NeedAction", last.action)}「${last.need.title}」`}
      </span>
    </div>
    ${!community
      ? html`<p>请选择一个社区或村。</p>`
      : html`<${Loading} state=${state}>${() => {
          const { community: c, needs } = state.data;
          return html`
            <${Filters} filter=${filter} setFilter=${setFilter} grids=${c.grids} />
            <p class="muted">未关闭诉求 ${needs.totalCount} 件${needs.totalCount > 100 ? "（显示最近更新的 100 件）" : ""}
              ${c.mode === "EMERGENCY" && html` · <strong class="emergency">急时状态</strong>`}</p>
            <${NeedTable} needs=${needs.edges.map((e) => e.node)} account=${account} onDone=${state.reload} caption="未关闭诉求" />`;
        }}<//>`}
  </section>`;
}
