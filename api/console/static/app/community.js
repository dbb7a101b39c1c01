// Which community a page works on: the account's own, or (county-level staff) one they pick.
import { html, useState, useData } from "./ui.js";
import { gql } from "./api.js";

const KEY = "luling.community";

export function useCommunity(account) {
  const [picked, setPicked] = useState(sessionStorage.getItem(KEY) || "");
  const id = account.communityId || picked;
  const choose = (value) => {
    sessionStorage.setItem(KEY, value);
    setPicked(value);
  };
  return [id, choose];
}

/** The community picker county-level staff see (an account with a community keeps its own). */
export function CommunityPicker({ account, value, onChange }) {
  const [search, setSearch] = useState("");
  const state = useData(
    () =>
      gql(
        `query Communities($name: String) {
          communities(filter: { nameContains: $name }, first: 100) { nodes: edges { node { id name kind } } }
        }`,
        { name: search || null },
      ),
    [search],
  );
  if (account.communityId) return null;
  const nodes = state.data ? state.data.communities.nodes.map((e) => e.node) : [];
  return html`<span class="picker">
    <input type="search" aria-label="查找社区/村" placeholder="查找社区/村" value=${search}
      onInput=${(e) => setSearch(e.target.value)} />
    <select aria-label="社区/村" value=${value} onChange=${(e) => onChange(e.target.value)}>
      <option value="">选择社区/村…</option>
      ${nodes.map((c) => html`<option value=${c.id}>${c.name}</option>`)}
    </select>
  </span>`;
}
