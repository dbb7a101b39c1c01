// 志愿活动: a community's volunteer activities — publish one, see who signed up, cancel one
// (with the reason everyone signed up is told) or finish one that has started.
import { html, useState, useData, Loading, label, fmtTime, attempt, ConfirmDialog } from "./ui.js";
import { gql, mutate } from "./api.js";
import { useCommunity, CommunityPicker } from "./community.js";

const ACTIVITIES = `query Activities($community: ID!, $status: [ActivityStatus!]) {
  community(id: $community) { id name venues { id name } }
  activities(community: $community, status: $status, first: 100) {
    totalCount
    nodes {
      id version title status startsAt endsAt capacity signedUpCount placesLeft cancelReason
      organiser { name } venue { name }
    }
  }
  serviceOrganisers(organisesIn: $community, first: 100) { nodes { id name level } }
}`;

const PAYLOAD = "activity { id status version } userErrors { field message code }";
const PUBLISH = `mutation Publish($input: PublishActivityInput!) { publishActivity(input: $input) { ${PAYLOAD} } }`;
const CANCEL = `mutation Cancel($input: CancelActivityInput!) { cancelActivity(input: $input) { ${PAYLOAD} } }`;
const FINISH = `mutation Finish($input: FinishActivityInput!) { finishActivity(input: $input) { ${PAYLOAD} } }`;

const OPEN = ["PLANNED", "ONGOING"];

/** A `datetime-local` value (the browser's local time) as an ISO instant with its offset. */
function instant(local) {
  return local ? new Date(local).toISOString() : null;
}

function PublishForm({ community, organisers, onDone }) {
  const empty = { organiserId: "", title: "", description: "", startsAt: "", endsAt: "", capacity: "20", venueId: "" };
  const [form, setForm] = useState(empty);
  const set = (key) => (e) => setForm({ ...form, [key]: e.target.value });
  const submit = async (e) => {
    e.preventDefault();
    const input = {
      organiserId: form.organiserId,
      communityId: community.id,
      title: form.title,
      description: form.description,
      startsAt: instant(form.startsAt),
      endsAt: instant(form.endsAt),
      capacity: Number(form.capacity),
    };
    if (form.venueId) input.venueId = form.venueId;
    const done = await attempt(() => mutate(PUBLISH, { input }, "publishActivity"), "已发布：" + form.title);
    if (done) {
      setForm(empty);
      onDone();
    }
  };
  return html`<form class="card" aria-label="发布活动" onSubmit=${submit}>
    <h2>发布活动</h2>
    <label>组织方 <select required value=${form.organiserId} onChange=${set("organiserId")}>
      <option value="">选择…</option>
      ${organisers.map((o) => html`<option value=${o.id}>${o.name}（${label("ServiceLevel", o.level)}）</option>`)}
    </select></label>
    <label>活动名称 <input required maxlength="200" value=${form.title} onInput=${set("title")} /></label>
    <label>内容 <textarea value=${form.description} onInput=${set("description")}></textarea></label>
    <label>开始 <input type="datetime-local" required value=${form.startsAt} onInput=${set("startsAt")} /></label>
    <label>结束 <input type="datetime-local" required value=${form.endsAt} onInput=${set("endsAt")} /></label>
    <label>名额 <input type="number" min="1" max="10000" required value=${form.capacity} onInput=${set("capacity")} /></label>
    <label>场所 <select value=${form.venueId} onChange=${set("venueId")}>
      <option value="">社区（默认位置）</option>
      ${community.venues.map((v) => html`<option value=${v.id}>${v.name}</option>`)}
    </select></label>
    <button type="submit" class="primary">发布</button>
  </form>`;
}

function ActivityTable({ activities, onCancel, onFinish }) {
  const now = Date.now();
  return html`<table class="grid-table" aria-label="志愿活动">
    <thead><tr>
      <th scope="col">活动</th><th scope="col">时间</th><th scope="col">状态</th><th scope="col">报名</th>
      <th scope="col">组织方</th><th scope="col">操作</th>
    </tr></thead>
    <tbody>${activities.map(
      (a) => html`<tr key=${a.id} data-activity=${a.id}>
        <td>${a.title}<div class="muted small">${a.venue ? a.venue.name : ""}</div></td>
        <td>${fmtTime(a.startsAt)} – ${fmtTime(a.endsAt)}</td>
        <td class="status">${label("ActivityStatus", a.status)}
          ${a.cancelReason && html`<div class="muted small">${a.cancelReason}</div>`}</td>
        <td>${a.signedUpCount} / ${a.capacity}</td>
        <td>${a.organiser ? a.organiser.name : "—"}</td>
        <td><span class="actions">
          ${OPEN.includes(a.status) &&
          html`<button type="button" class="danger" aria-label=${"取消活动 " + a.title} onClick=${() => onCancel(a)}>取消</button>`}
          ${OPEN.includes(a.status) && new Date(a.startsAt).getTime() <= now &&
          html`<button type="button" aria-label=${"结束活动 " + a.title} onClick=${() => onFinish(a)}>结束</button>`}
        </span></td>
      </tr>`,
    )}</tbody>
  </table>`;
}

export function Activities({ account }) {
  const [community, setCommunity] = useCommunity(account);
  const [showAll, setShowAll] = useState(false);
  const [cancelling, setCancelling] = useState(null);
  const state = useData(
    () => (community ? gql(ACTIVITIES, { community, status: showAll ? null : OPEN }) : Promise.resolve(null)),
    [community, showAll],
  );
  const cancel = (reason) =>
    attempt(
      () => mutate(CANCEL, { input: { activityId: cancelling.id, expectedVersion: cancelling.version, reason } }, "cancelActivity"),
      "已取消：" + cancelling.title,
    ).then(state.reload);
  const finish = (a) =>
    attempt(() => mutate(FINISH, { input: { activityId: a.id, expectedVersion: a.version } }, "finishActivity"), "已结束：" + a.title).then(
      state.reload,
    );
  return html`<section aria-labelledby="activities-title">
    <div class="page-head">
      <h1 id="activities-title">志愿活动${state.data && state.data.community ? " · " + state.data.community.name : ""}</h1>
      <${CommunityPicker} account=${account} value=${community} onChange=${setCommunity} />
      <label class="check"><input type="checkbox" checked=${showAll} onChange=${(e) => setShowAll(e.target.checked)} /> 含已结束、已取消</label>
    </div>
    ${!community
      ? html`<p>请选择一个社区或村。</p>`
      : html`<${Loading} state=${state}>${() => {
          const { community: c, activities, serviceOrganisers } = state.data;
          return html`<div class="columns">
            <div>
              <p class="muted">活动 ${activities.totalCount} 项${activities.totalCount > 100 ? "（显示最早的 100 项）" : ""}</p>
              <${ActivityTable} activities=${activities.nodes} onCancel=${setCancelling} onFinish=${finish} />
            </div>
            <${PublishForm} community=${c} organisers=${serviceOrganisers.nodes} onDone=${state.reload} />
          </div>`;
        }}<//>`}
    ${cancelling && html`<${ConfirmDialog} title="确认取消活动"
      text=${"取消「" + cancelling.title + "」：已报名的 " + cancelling.signedUpCount + " 人会收到通知。"}
      reasonLabel="原因（告知已报名的人）" confirmLabel="取消活动"
      onConfirm=${cancel} onClose=${() => setCancelling(null)} />`}
  </section>`;
}
