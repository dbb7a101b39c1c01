// A need's page: where it stands, its countdown, who is on it, every step as a timeline (live
// through `needUpdated`), the steps its `allowedActions` allows, and the offers (请缨) on it.
import { html, useEffect, useState, useData, Loading, label, fmtTime, Countdown, EnumSelect, attempt } from "./ui.js";
import { gql, mutate, subscribe } from "./api.js";
import { ACCEPT, DISPATCH, stepsFor } from "./board.js";

const NEED = `query Need($id: ID!) {
  need(id: $id) {
    id title description category source tier status urgency version overdue allowedActions
    address headcount reportedAt acceptedAt dispatchedAt arriveBy arrivedAt resolveBy resolvedAt
    reporterName reporterPhone
    community { id name teams { id name kind } }
    grid { id name }
    duplicateOf { id title status version }
    mergedInto { id title }
    assignments { id active assignedAt person { id name } team { id name } resource { id name } }
    events { id action fromStatus toStatus note at actorName }
    offers { id status note declinedBecause answer offeredAt person { id name } }
  }
}`;

const UPDATED = `subscription Need($id: ID!) { needUpdated(id: $id) { id version status } }`;
const CANDIDATES = `query Candidates($id: ID!) {
  needCandidates(needId: $id, limit: 8) { rank distanceKm travelMinutes message person { id name } }
}`;

function step(field, input) {
  return `mutation Step($input: ${input}!) { ${field}(input: $input) { need { id status version } userErrors { message code } } }`;
}
const REASONED = { ESCALATE: ["escalateNeed", "升级"], RETURN: ["returnNeed", "退回"] };
const SIMPLE = { ARRIVE: ["arriveNeed", "到场"], RESOLVE: ["resolveNeed", "办结"] };
const OFFER_STEP = (field) => `mutation Offer($input: OfferStepInput!) {
  ${field}(input: $input) { offer { id status } userErrors { message code } }
}`;
const MERGE = `mutation Merge($input: MergeNeedsInput!) {
  mergeNeeds(input: $input) { need { id } merged { id } userErrors { message code } }
}`;

function Timeline({ events }) {
  return html`<ol class="timeline" aria-label="办理过程">
    ${events.map(
      (e) => html`<li key=${e.id}>
        <time>${fmtTime(e.at)}</time>
        <strong>${label("NeedAction", e.action)}</strong>
        <span>${e.fromStatus ? label("NeedStatus", e.fromStatus) + " → " : ""}${label("NeedStatus", e.toStatus)}</span>
        <span class="muted">${e.actorName}</span>
        ${e.note && html`<p>${e.note}</p>`}
      </li>`,
    )}
  </ol>`;
}

function DispatchForm({ need, onDone }) {
  const [target, setTarget] = useState(need.grid ? "grid" : "people");
  const [people, setPeople] = useState([]);
  const [team, setTeam] = useState("");
  const [note, setNote] = useState("");
  const candidates = useData(() => gql(CANDIDATES, { id: need.id }), [need.id]);
  const submit = (e) => {
    e.preventDefault();
    const input = { needId: need.id, expectedVersion: need.version, note };
    if (target === "grid") input.toGridWorker = true;
    if (target === "people") input.toPersonIds = people;
    if (target === "team") input.toTeamId = team;
    attempt(() => mutate(DISPATCH, { input }, "dispatchNeed"), "已派单").then(onDone);
  };
  const toggle = (id) => setPeople(people.includes(id) ? people.filter((p) => p !== id) : [...people, id]);
  return html`<form class="card" onSubmit=${submit} aria-label="派单">
    <h3>派单/转派</h3>
    <fieldset><legend>派给</legend>
      <label class="check"><input type="radio" name="target" checked=${target === "grid"} disabled=${!need.grid}
        onChange=${() => setTarget("grid")} /> 网格员${need.grid ? "（" + need.grid.name + "）" : ""}</label>
      <label class="check"><input type="radio" name="target" checked=${target === "people"} onChange=${() => setTarget("people")} /> 人员</label>
      <label class="check"><input type="radio" name="target" checked=${target === "team"} onChange=${() => setTarget("team")} /> 服务队</label>
    </fieldset>
    ${target === "people" &&
    html`<${Loading} state=${candidates}>${() => html`<ul class="plain">
      ${candidates.data.needCandidates.filter((c) => c.person).map(
        (c) => html`<li><label class="check"><input type="checkbox" checked=${people.includes(c.person.id)}
          onChange=${() => toggle(c.person.id)} /> ${c.person.name}
          <span class="muted small">${c.distanceKm.toFixed(1)} km · ${c.message}</span></label></li>`,
      )}
    </ul>`}<//>`}
    ${target === "team" &&
    html`<label>服务队 <select aria-label="服务队" value=${team} onChange=${(e) => setTeam(e.target.value)}>
      <option value="">选择…</option>
      ${need.community.teams.map((t) => html`<option value=${t.id}>${t.name}</option>`)}
    </select></label>`}
    <label>备注 <input value=${note} onInput=${(e) => setNote(e.target.value)} /></label>
    <button type="submit" class="primary">派单</button>
  </form>`;
}

function Actions({ need, account, onDone }) {
  const acts = stepsFor(need, account);
  const [tier, setTier] = useState(need.tier);
  const [reason, setReason] = useState("");
  const [note, setNote] = useState("");
  const base = { needId: need.id, expectedVersion: need.version };
  return html`<div class="action-panel">
    ${acts.includes("ACCEPT") &&
    html`<form class="card" aria-label="受理" onSubmit=${(e) => {
      e.preventDefault();
      attempt(() => mutate(ACCEPT, { input: { ...base, tier, note } }, "acceptNeed"), "已受理").then(onDone);
    }}>
      <h3>受理</h3>
      <label>分级 <${EnumSelect} name="受理分级" enumName="NeedTier" value=${tier} onChange=${setTier} any=${null} /></label>
      <label>备注 <input value=${note} onInput=${(e) => setNote(e.target.value)} /></label>
      <button type="submit" class="primary">受理</button>
    </form>`}
    ${acts.includes("DISPATCH") && html`<${DispatchForm} need=${need} onDone=${onDone} />`}
    ${Object.entries(SIMPLE).filter(([a]) => acts.includes(a)).map(
      ([a, [field, title]]) => html`<button type="button" class="primary" onClick=${() =>
        attempt(() => mutate(step(field, "NeedStepInput"), { input: base }, field), "已" + title).then(onDone)}>${title}</button>`,
    )}
    ${Object.entries(REASONED).some(([a]) => acts.includes(a)) &&
    html`<div class="card"><h3>升级 / 退回</h3>
      <label>原因 <input value=${reason} onInput=${(e) => setReason(e.target.value)} /></label>
      ${Object.entries(REASONED).filter(([a]) => acts.includes(a)).map(
        ([a, [field, title]]) => html`<button type="button" disabled=${!reason.trim()} onClick=${() =>
          attempt(() => mutate(step(field, "NeedReasonInput"), { input: { ...base, reason } }, field), "已" + title).then(onDone)}>${title}</button>`,
      )}
    </div>`}
    ${acts.includes("MERGE") && need.duplicateOf &&
    html`<div class="card"><h3>合并重复诉求</h3>
      <p>疑似与「<a href=${"#/need/" + encodeURIComponent(need.duplicateOf.id)}>${need.duplicateOf.title}</a>」重复。</p>
      <button type="button" onClick=${() =>
        attempt(() => mutate(MERGE, { input: { survivorId: need.duplicateOf.id, duplicates: [{ id: need.id, expectedVersion: need.version }] } }, "mergeNeeds"), "已合并").then(onDone)}>
        并入该诉求</button>
    </div>`}
  </div>`;
}

/** 请缨: who offered to take the need, what they said, and (for coordinators) 采纳 / 不采纳. */
function Offers({ need, account, onDone }) {
  const [reason, setReason] = useState("");
  if (!need.offers.length) return null;
  const deciding = (account.role === "COORDINATOR" || account.role === "ADMIN") && need.offers.some((o) => o.status === "OFFERED");
  const decide = (field, offer, note, done) =>
    attempt(() => mutate(OFFER_STEP(field), { input: { offerId: offer.id, note } }, field), done + (offer.person ? "：" + offer.person.name : "")).then(onDone);
  return html`<section aria-labelledby="offers-title">
    <h2 id="offers-title">请缨（${need.offers.length}）</h2>
    <table class="grid-table" aria-label="请缨">
      <thead><tr><th scope="col">志愿者</th><th scope="col">留言</th><th scope="col">时间</th><th scope="col">状态</th>
        ${deciding && html`<th scope="col">操作</th>`}</tr></thead>
      <tbody>${need.offers.map(
        (o) => html`<tr key=${o.id} data-offer=${o.id}>
          <td>${o.person ? o.person.name : "—"}</td>
          <td>${o.note || html`<span class="muted">—</span>`}</td>
          <td>${fmtTime(o.offeredAt)}</td>
          <td class="status">${label("OfferStatus", o.status)}
            ${o.declinedBecause && html`<div class="muted small">${label("OfferDecline", o.declinedBecause)}${o.answer && o.answer !== label("OfferDecline", o.declinedBecause) ? "：" + o.answer : ""}</div>`}</td>
          ${deciding && html`<td>${o.status === "OFFERED" && html`<span class="actions">
            <button type="button" class="primary" aria-label=${"采纳 " + (o.person ? o.person.name : o.id)}
              onClick=${() => decide("acceptOffer", o, "", "已采纳并派单")}>采纳</button>
            <button type="button" aria-label=${"不采纳 " + (o.person ? o.person.name : o.id)} disabled=${!reason.trim()}
              onClick=${() => decide("declineOffer", o, reason, "未采纳")}>不采纳</button></span>`}</td>`}
        </tr>`,
      )}</tbody>
    </table>
    ${deciding && html`<label>不采纳的原因（告知志愿者，不采纳后不能再次请缨） <input value=${reason} onInput=${(e) => setReason(e.target.value)} /></label>`}
  </section>`;
}

export function NeedPage({ id, account }) {
  const state = useData(() => gql(NEED, { id }), [id]);
  useEffect(() => subscribe(UPDATED, { id }, () => state.reload()), [id]);
  return html`<${Loading} state=${state}>${() => {
    const n = state.data.need;
    if (!n) return html`<p class="error">没有这件诉求。</p>`;
    return html`<article aria-labelledby="need-title">
      <p><a href="#/board">← 社区工作台</a></p>
      <div class="page-head"><h1 id="need-title">${n.title}</h1>
        <span class=${"tier tier-" + n.tier}>${label("NeedTier", n.tier)}</span>
        <span class="status">${label("NeedStatus", n.status)}</span> <${Countdown} need=${n} /></div>
      <div class="columns">
        <div>
          <dl class="facts">
            <dt>类别</dt><dd>${label("NeedCategory", n.category)}</dd>
            <dt>来源</dt><dd>${label("NeedSource", n.source)}</dd>
            <dt>社区/网格</dt><dd>${n.community.name} · ${n.grid ? n.grid.name : "—"}</dd>
            <dt>地址</dt><dd>${n.address || "—"}</dd>
            <dt>上报人</dt><dd>${n.reporterName} ${n.reporterPhone || ""}</dd>
            <dt>需要人数</dt><dd>${n.headcount}</dd>
            <dt>到场时限</dt><dd>${fmtTime(n.arriveBy)}</dd>
            <dt>办结时限</dt><dd>${fmtTime(n.resolveBy)}</dd>
            ${n.mergedInto && html`<dt>已并入</dt><dd><a href=${"#/need/" + encodeURIComponent(n.mergedInto.id)}>${n.mergedInto.title}</a></dd>`}
          </dl>
          <p>${n.description}</p>
          <h2>承办</h2>
          <ul class="plain">${n.assignments.length
            ? n.assignments.map((a) => html`<li class=${a.active ? "" : "muted"}>
                ${(a.person && a.person.name) || (a.team && a.team.name) || (a.resource && a.resource.name)}
                · ${fmtTime(a.assignedAt)}${a.active ? "" : "（已结束）"}</li>`)
            : html`<li class="muted">尚未派单</li>`}</ul>
          <${Offers} need=${n} account=${account} onDone=${state.reload} />
          <${Actions} need=${n} account=${account} onDone=${state.reload} />
        </div>
        <div><h2>办理过程</h2><${Timeline} events=${n.events} /></div>
      </div>
    </article>`;
  }}<//>`;
}
