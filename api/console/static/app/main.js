// The console: sign-in, the menu each role gets, and a hash router over the pages.
import { html, render, useEffect, useState, Flashes, label, attempt } from "./ui.js";
import { gql, session } from "./api.js";
import { Board } from "./board.js";
import { NeedPage } from "./need.js";
import { Matching, JobPage } from "./matching.js";
import { Enterprise } from "./enterprise.js";
import { Dashboard } from "./dashboard.js";
import { AreaModes } from "./mode.js";
import { Activities } from "./activities.js";

const COORDINATION = ["COORDINATOR", "ADMIN"];
// Menu entries: path, title, the roles that see it (the API decides what they may do).
const MENU = [
  ["board", "社区工作台", ["GRID_WORKER", ...COORDINATION]],
  ["matching", "智能匹配", COORDINATION],
  ["enterprise", "营商气象站", ["ENTERPRISE_HELPER", ...COORDINATION]],
  ["dashboard", "数据看板", null],
  ["activities", "志愿活动", COORDINATION],
  ["mode", "平急转换", COORDINATION],
];

export function menuFor(role) {
  return MENU.filter(([, , roles]) => !roles || roles.includes(role));
}

function useRoute() {
  const read = () => (location.hash.replace(/^#\/?/, "") || "").split("/");
  const [route, setRoute] = useState(read());
  useEffect(() => {
    const on = () => setRoute(read());
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return route;
}

function SignIn({ onSignedIn }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      const data = await gql(
        `mutation Login($u: String!, $p: String!) {
          login(username: $u, password: $p) {
            token
            account { id username displayName role communityId personId }
            userErrors { message code }
          }
        }`,
        { u: username, p: password },
      );
      const payload = data.login;
      if (payload.userErrors.length) setError(payload.userErrors[0].message);
      else {
        session.signIn(payload.token, payload.account);
        onSignedIn(payload.account);
      }
    } catch (err) {
      setError(err.message);
    }
    setBusy(false);
  };
  return html`<main class="signin">
    <form onSubmit=${submit} aria-labelledby="signin-title">
      <h1 id="signin-title">庐陵善治 · 运行控制台</h1>
      <p class="muted">党建引领基层治理 · 吉安县</p>
      <label>用户名<input name="username" autocomplete="username" required value=${username}
        onInput=${(e) => setUsername(e.target.value)} /></label>
      <label>密码<input name="password" type="password" autocomplete="current-password" required
        value=${password} onInput=${(e) => setPassword(e.target.value)} /></label>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <button type="submit" class="primary" disabled=${busy}>登录</button>
    </form>
  </main>`;
}

function Page({ route, account }) {
  const [page, id] = route;
  const allowed = menuFor(account.role).map(([p]) => p);
  if (page === "need" && id) return html`<${NeedPage} id=${decodeURIComponent(id)} account=${account} />`;
  if (page === "matching" && id) return html`<${JobPage} key=${id} id=${decodeURIComponent(id)} account=${account} />`;
  const current = allowed.includes(page) ? page : allowed[0];
  switch (current) {
    case "board":
      return html`<${Board} account=${account} />`;
    case "matching":
      return html`<${Matching} account=${account} />`;
    case "enterprise":
      return html`<${Enterprise} account=${account} />`;
    case "mode":
      return html`<${AreaModes} account=${account} />`;
    case "activities":
      return html`<${Activities} account=${account} />`;
    default:
      return html`<${Dashboard} />`;
  }
}

function App() {
  const [account, setAccount] = useState(session.token ? session.account : null);
  const route = useRoute();
  useEffect(() => {
    const out = () => setAccount(null);
    window.addEventListener("luling:signed-out", out);
    return () => window.removeEventListener("luling:signed-out", out);
  }, []);
  if (!account)
    return html`<${Flashes} /><${SignIn} onSignedIn=${(a) => {
      setAccount(a);
      location.hash = "#/" + menuFor(a.role)[0][0];
    }} />`;
  const signOut = () => attempt(async () => session.signOut(), "已退出");
  const current = route[0] === "need" ? "board" : route[0];
  return html`<div class="shell">
    <header class="top">
      <a class="brand" href="#/">庐陵善治</a>
      <nav aria-label="主菜单">
        ${menuFor(account.role).map(
          ([path, title]) =>
            html`<a href=${"#/" + path} aria-current=${current === path ? "page" : undefined}>${title}</a>`,
        )}
        <a href="/graphql">GraphiQL</a>
      </nav>
      <span class="who">${account.displayName || account.username}
        <span class="role">${label("Role", account.role)}</span></span>
      <button type="button" onClick=${signOut}>退出</button>
    </header>
    <${Flashes} />
    <main class="page"><${Page} route=${route} account=${account} /></main>
  </div>`;
}

const root = document.getElementById("app");
root.textContent = ""; // the "loading" placeholder: Preact appends, it does not replace
render(html`<${App} />`, root);
