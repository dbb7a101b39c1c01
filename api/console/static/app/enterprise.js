// 营商气象站: a helper's queue of enterprise requests (overdue first), the pool of requests nobody
// carries yet to claim (抢单), a request's history, notes and resolution; coordinators and the
// business office see every open request they may and assign helpers to new ones.
import { html, useState, useData, Loading, label, fmtTime, attempt, useNow, fmtDuration, EnumSelect } from "./ui.js";
import { gql, mutate } from "./api.js";

const ROW = `id title kind status urgency deadline submittedAt overdue version allowedActions
  resolvedAt resolvedOnTime
  enterprise { id name } helper { id name }`;

const QUEUE = `query Queue($filter: EnterpriseRequestFilter!) {
  enterpriseRequests(filter: $filter, orderBy: { field: DEADLINE, direction: ASC }, first: 100) {
    totalCount edges { node { ${ROW} } }
  }
}`;

const DETAIL = `query Request($id: ID!) {
  enterpriseRequest(id: $id) {
    ${ROW} description assignedAt
    enterprise { id name industry contactName contactPhone }
    events { id action fromStatus toStatus actorName note at }
  }
}`;

const HELPERS = `query Helpers { people(filter: { kind: [ENTERPRISE_HELPER] }, first: 100) { edges { node { id name } } } }`;

const NOTE = `mutation Note($input: AddEnterpriseRequestNoteInput!) {
  addEnterpriseRequestNote(input: $input) { enterpriseRequest { id version } userErrors { message code } }
}`;
const RESOLVE = `mutation Resolve($input: ResolveEnterpriseRequestInput!) {
  resolveEnterpriseRequest(input: $input) { enterpriseRequest { id status version } userErrors { message code } }
}`;
const CLAIM = `mutation Claim($input: ClaimEnterpriseRequestInput!) {
  claimEnterpriseRequest(input: $input) { enterpriseRequest { id status version } userErrors { message code } }
}`;
const ASSIGN = `mutation Assign($input: AssignEnterpriseHelperInput!) {
  assignEnterpriseHelper(input: $input) { enterpriseRequest { id status version } userErrors { message code } }
}`;

/** Overdue first, then the nearest deadline. */
export function queueOrder(a, b) {
  if (a.overdue !== b.overdue) return a.overdue ? -1 : 1;
  return new Date(a.deadline) - new Date(b.deadline);
}

function Deadline({ request }) {
  const now = useNow();
  if (request.resolvedAt)
    return html`<span class=${"countdown " + (request.resolvedOnTime ? "ok" : "late")}>
      ${request.resolvedOnTime ? "按期办结" : "逾期办结"}</span>`;
  const left = new Date(request.deadline).getTime() - now;
  const cls = request.overdue || left < 0 ? "late" : left < 86400000 ? "warn" : "ok";
  return html`<span class=${"countdown " + cls}>${left < 0 ? "超期 " : "剩 "}${fmtDuration(left)}</span>`;
}

function Detail({ id, onChanged, helpers, helperView }) {
  const state = useData(() => gql(DETAIL, { id }), [id]);
  const [note, setNote] = useState("");
  const [helper, setHelper] = useState("");
  const done = () => {
    setNote("");
    state.reload();
    onChanged();
  };
  return html`<${Loading} state=${state}>${() => {
    const r = state.data.enterpriseRequest;
    const base = { requestId: r.id, expectedVersion: r.version };
    const acts = r.allowedActions;
    return html`<aside class="card detail" aria-labelledby="request-title">
      <h2 id="request-title">${r.title}</h2>
      <p><span class="status">${label("EnterpriseRequestStatus", r.status)}</span> · ${label("EnterpriseRequestKind", r.kind)}
        · 期限 ${fmtTime(r.deadline)} <${Deadline} request=${r} /></p>
      <p>${r.enterprise.name}（${r.enterprise.industry}）联系人 ${r.enterprise.contactName} ${r.enterprise.contactPhone || ""}</p>
      <p>${r.description}</p>
      <p>小赣事：${r.helper ? r.helper.name : "未分派"}</p>
      ${helperView && !r.helper && acts.includes("CLAIM") &&
      html`<div class="buttons"><button type="button" class="primary" onClick=${() =>
        attempt(() => mutate(CLAIM, { input: base }, "claimEnterpriseRequest"), "已认领").then(done)}>认领（抢单）</button></div>`}
      ${helpers && acts.includes("ASSIGN") &&
      html`<form class="row" aria-label="分派小赣事" onSubmit=${(e) => {
        e.preventDefault();
        attempt(() => mutate(ASSIGN, { input: { ...base, helperId: helper } }, "assignEnterpriseHelper"), "已分派").then(done);
      }}>
        <label>分派给 <select aria-label="小赣事" value=${helper} onChange=${(e) => setHelper(e.target.value)}>
          <option value="">选择…</option>${helpers.map((h) => html`<option value=${h.id}>${h.name}</option>`)}
        </select></label>
        <button type="submit" disabled=${!helper}>分派</button>
      </form>`}
      ${(acts.includes("NOTE") || acts.includes("RESOLVE")) &&
      html`<form aria-label="办理" onSubmit=${(e) => {
        e.preventDefault();
        attempt(() => mutate(NOTE, { input: { ...base, note } }, "addEnterpriseRequestNote"), "已记录").then(done);
      }}>
        <label>办理记录 <textarea value=${note} onInput=${(e) => setNote(e.target.value)}></textarea></label>
        <div class="buttons">
          ${acts.includes("NOTE") && html`<button type="submit" disabled=${!note.trim()}>记录进展</button>`}
          ${acts.includes("RESOLVE") && html`<button type="button" class="primary" onClick=${() =>
            attempt(() => mutate(RESOLVE, { input: { ...base, note } }, "resolveEnterpriseRequest"), "已办结").then(done)}>办结</button>`}
        </div>
      </form>`}
      <h3>办理过程</h3>
      <ol class="timeline" aria-label="办理过程">${r.events.map((e) => html`<li key=${e.id}>
        <time>${fmtTime(e.at)}</time> <strong>${label("EnterpriseAction", e.action)}</strong>
        <span>${label("EnterpriseRequestStatus", e.toStatus)}</span> <span class="muted">${e.actorName}</span>
        ${e.note && html`<p>${e.note}</p>`}</li>`)}</ol>
    </aside>`;
  }}<//>`;
}

export function Enterprise({ account }) {
  const helperView = account.role === "ENTERPRISE_HELPER";
  const [status, setStatus] = useState(helperView ? "" : "SUBMITTED");
  const [pool, setPool] = useState(false); // a helper's view: the unclaimed requests
  const [selected, setSelected] = useState(null);
  const filter = { open: true };
  if (helperView && pool) filter.assigned = false;
  else if (helperView) filter.helper = account.personId;
  if (status) filter.status = [status];
  const queue = useData(() => gql(QUEUE, { filter }), [status, pool]);
  const helpers = useData(() => (helperView ? Promise.resolve(null) : gql(HELPERS)), []);
  const helperList = helpers.data ? helpers.data.people.edges.map((e) => e.node) : null;
  return html`<section aria-labelledby="ent-title">
    <div class="page-head"><h1 id="ent-title">营商气象站 · ${helperView ? (pool ? "待认领" : "我的诉求") : "企业诉求"}</h1>
      ${helperView && html`<div class="buttons" role="group" aria-label="诉求范围">
        <button type="button" aria-pressed=${!pool} onClick=${() => { setPool(false); setSelected(null); }}>我的诉求</button>
        <button type="button" aria-pressed=${pool} onClick=${() => { setPool(true); setSelected(null); }}>待认领</button></div>`}
      <label>状态 <${EnumSelect} name="诉求状态" enumName="EnterpriseRequestStatus" value=${status} onChange=${setStatus}
        only=${["SUBMITTED", "ASSIGNED", "IN_PROGRESS", "RESOLVED"]} any="全部未关闭" /></label>
    </div>
    <div class="columns">
      <${Loading} state=${queue}>${() => {
        const rows = queue.data.enterpriseRequests.edges.map((e) => e.node).sort(queueOrder);
        return html`<div><p class="muted">${queue.data.enterpriseRequests.totalCount} 件（超期优先）</p>
          <table class="grid-table"><caption class="sr-only">企业诉求</caption>
          <thead><tr><th scope="col">诉求</th><th scope="col">企业</th><th scope="col">状态</th><th scope="col">期限</th>
            <th scope="col">小赣事</th></tr></thead>
          <tbody>${rows.map((r) => html`<tr key=${r.id} data-request=${r.id} class=${(r.overdue ? "overdue " : "") + (selected === r.id ? "selected" : "")}>
            <td><button type="button" class="link" onClick=${() => setSelected(r.id)}>${r.title}</button>
              <div class="muted small">${label("EnterpriseRequestKind", r.kind)}</div></td>
            <td>${r.enterprise.name}</td><td class="status">${label("EnterpriseRequestStatus", r.status)}</td>
            <td><${Deadline} request=${r} /></td><td>${r.helper ? r.helper.name : "—"}</td></tr>`)}</tbody>
          </table></div>`;
      }}<//>
      ${selected ? html`<${Detail} key=${selected} id=${selected} onChanged=${queue.reload} helpers=${helperList} helperView=${helperView} />`
        : html`<p class="muted">选择一件诉求查看详情。</p>`}
    </div>
  </section>`;
}
