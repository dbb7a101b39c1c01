// 平急转换: switch an area between normal (平时) and emergency (急时) mode, after confirming.
import { html, useState, useData, Loading, label, fmtTime, attempt, ConfirmDialog } from "./ui.js";
import { gql, mutate } from "./api.js";

const AREAS = `query Areas($id: ID!, $all: Boolean!, $name: String) {
  community(id: $id) @skip(if: $all) { id name kind mode modeChangedAt }
  communities(filter: { nameContains: $name }, first: 50) @include(if: $all) {
    edges { node { id name kind mode modeChangedAt } }
  }
}`;

const SET = `mutation SetMode($input: SetAreaModeInput!) {
  setAreaMode(input: $input) { community { id mode modeChangedAt } userErrors { message code } }
}`;

export function AreaModes({ account }) {
  const all = !account.communityId;
  const [name, setName] = useState("");
  const [pending, setPending] = useState(null);
  const state = useData(() => gql(AREAS, { id: account.communityId || "", all, name: name || null }), [name]);
  const confirm = (area) => {
    const next = area.mode === "EMERGENCY" ? "NORMAL" : "EMERGENCY";
    setPending({ area, next });
  };
  const apply = (reason) =>
    attempt(
      () => mutate(SET, { input: { communityId: pending.area.id, mode: pending.next, reason } }, "setAreaMode"),
      pending.area.name + " 已切换为" + label("AreaMode", pending.next),
    ).then(state.reload);
  return html`<section aria-labelledby="mode-title">
    <div class="page-head"><h1 id="mode-title">平急转换</h1>
      ${all && html`<input type="search" aria-label="查找社区/村" placeholder="查找社区/村" value=${name} onInput=${(e) => setName(e.target.value)} />`}
    </div>
    <p class="muted">切换为急时后，“吉先锋”党员突击队被动员，智能匹配以速度优先。</p>
    <${Loading} state=${state}>${() => {
      const areas = all ? state.data.communities.edges.map((e) => e.node) : [state.data.community];
      return html`<table class="grid-table"><caption class="sr-only">社区与村</caption>
        <thead><tr><th scope="col">社区/村</th><th scope="col">类型</th><th scope="col">状态</th><th scope="col">切换时间</th><th scope="col">操作</th></tr></thead>
        <tbody>${areas.map((a) => html`<tr key=${a.id} data-area=${a.id}>
          <td>${a.name}</td><td>${label("AreaKind", a.kind)}</td>
          <td class=${a.mode === "EMERGENCY" ? "emergency" : ""}>${label("AreaMode", a.mode)}</td>
          <td>${fmtTime(a.modeChangedAt)}</td>
          <td><button type="button" class=${a.mode === "EMERGENCY" ? "" : "danger"} onClick=${() => confirm(a)}>
            切换为${label("AreaMode", a.mode === "EMERGENCY" ? "NORMAL" : "EMERGENCY")}</button></td>
        </tr>`)}</tbody></table>`;
    }}<//>
    ${pending && html`<${ConfirmDialog} title="确认平急转换"
      text=${"将「" + pending.area.name + "」切换为" + label("AreaMode", pending.next) + "。"}
      reasonLabel="原因" confirmLabel=${"切换为" + label("AreaMode", pending.next)}
      onConfirm=${apply} onClose=${() => setPending(null)} />`}
  </section>`;
}
