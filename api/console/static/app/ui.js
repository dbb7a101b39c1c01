// Shared pieces of the console: Preact + htm, the enums' Chinese labels, times and 1341
// countdowns, messages, confirmation.
import { html, useEffect, useState, useCallback, useRef } from "/static/vendor/htm@3.1.1/standalone.module.js";
import { LABELS } from "/static/labels.js";

export * from "/static/vendor/htm@3.1.1/standalone.module.js";

/** The Chinese label of an enum value (schema/enums.py); the value itself when it has none. */
export function label(enumName, value) {
  const names = LABELS[enumName] || {};
  return names[value] || value;
}

/** The values of an enum, in their declared order. */
export function values(enumName) {
  return Object.keys(LABELS[enumName] || {});
}

const pad = (n) => String(n).padStart(2, "0");

/** A time as county staff write it: 11-28 09:05 (this year), else with the year. */
export function fmtTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  const day = pad(d.getMonth() + 1) + "-" + pad(d.getDate());
  const year = d.getFullYear() === new Date().getFullYear() ? "" : d.getFullYear() + "-";
  return year + day + " " + pad(d.getHours()) + ":" + pad(d.getMinutes());
}

export function fmtDuration(ms) {
  const s = Math.floor(Math.abs(ms) / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) return d + "天" + h + "时";
  if (h) return h + "时" + pad(m) + "分";
  return m + "分" + pad(s % 60) + "秒";
}

export function fmtNumber(n, digits = 0) {
  if (n === null || n === undefined) return "—";
  return Number(n).toLocaleString("zh-CN", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function fmtPercent(rate) {
  if (!rate || rate.percent === null || rate.percent === undefined) return "—";
  return rate.percent.toFixed(1) + "%";
}

let ticking = null;
const listeners = new Set();

/** The current time, re-rendering the component every second (one timer for the page). */
export function useNow() {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    listeners.add(setNow);
    if (!ticking) ticking = setInterval(() => listeners.forEach((f) => f(Date.now())), 1000);
    return () => {
      listeners.delete(setNow);
      if (!listeners.size) {
        clearInterval(ticking);
        ticking = null;
      }
    };
  }, []);
  return now;
}

/** The 1341 promise a need is waiting on: arrival (10 minutes) until someone is on site, then
 * the resolution (30 minutes, 4 hours or 1 day by tier). Null when none runs. */
export function pendingDeadline(need) {
  if (need.status === "DISPATCHED" && need.arriveBy && !need.arrivedAt)
    return { what: "到场", at: need.arriveBy, from: need.dispatchedAt };
  if ((need.status === "DISPATCHED" || need.status === "ARRIVED") && need.resolveBy)
    return { what: "办结", at: need.resolveBy, from: need.dispatchedAt };
  return null;
}

/** A countdown to a 1341 deadline: amber in its last fifth, red once overdue. */
export function Countdown({ need }) {
  const now = useNow();
  const deadline = pendingDeadline(need);
  if (!deadline) return html`<span class="muted">—</span>`;
  const end = new Date(deadline.at).getTime();
  const start = deadline.from ? new Date(deadline.from).getTime() : end - 600000;
  const left = end - now;
  const state = left < 0 ? "late" : left < (end - start) / 5 ? "warn" : "ok";
  const text = left < 0 ? "超时 " + fmtDuration(left) : "剩 " + fmtDuration(left);
  return html`<span class=${"countdown " + state} title=${deadline.what + "时限 " + fmtTime(deadline.at)}
    >${deadline.what} ${text}</span
  >`;
}

/** Messages at the top of the page (role="status"), cleared after a while. */
const flashListeners = new Set();
export function flash(text, kind = "ok") {
  flashListeners.forEach((f) => f({ text, kind, id: Date.now() + Math.random() }));
}

export function Flashes() {
  const [items, setItems] = useState([]);
  useEffect(() => {
    const add = (item) => {
      setItems((xs) => [...xs, item]);
      setTimeout(() => setItems((xs) => xs.filter((x) => x.id !== item.id)), 6000);
    };
    flashListeners.add(add);
    return () => flashListeners.delete(add);
  }, []);
  return html`<div class="flashes" role="status" aria-live="polite">
    ${items.map((i) => html`<p key=${i.id} class=${"flash " + i.kind}>${i.text}</p>`)}
  </div>`;
}

/** Runs an action, reporting its outcome; returns its result, or undefined when it failed. */
export async function attempt(action, success) {
  try {
    const result = await action();
    if (success) flash(success);
    return result;
  } catch (e) {
    flash(e.message || String(e), "error");
    return undefined;
  }
}

/** Data from `load()`, again whenever `deps` change or `reload()` is called. */
export function useData(load, deps) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, error: null, loading: false }),
      (error) => live && setState({ data: null, error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, round]);
  const reload = useCallback(() => setRound((r) => r + 1), []);
  return { ...state, reload };
}

export function Loading({ state, children }) {
  if (state.error) return html`<p class="error" role="alert">加载失败：${state.error.message}</p>`;
  if (!state.data) return html`<p class="loading">加载中…</p>`;
  return children();
}

/** A modal confirmation with an optional reason; `onConfirm(reason)` runs on 确定. */
export function ConfirmDialog({ title, text, reasonLabel, confirmLabel = "确定", onConfirm, onClose }) {
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    await onConfirm(reason);
    setBusy(false);
    onClose();
  };
  const form = useRef(null);
  useEffect(() => {
    // Keyboard users land in the dialog: on the reason, else on the confirming button.
    const first = form.current && form.current.querySelector("textarea, button.primary");
    if (first) first.focus();
    const esc = (e) => e.key === "Escape" && onClose();
    window.addEventListener("keydown", esc);
    return () => window.removeEventListener("keydown", esc);
  }, []);
  return html`<div class="overlay">
    <form ref=${form} class="dialog" role="dialog" aria-modal="true" aria-label=${title} onSubmit=${submit}>
      <h2>${title}</h2>
      <p>${text}</p>
      ${reasonLabel &&
      html`<label>${reasonLabel}
        <textarea required value=${reason} onInput=${(e) => setReason(e.target.value)}></textarea>
      </label>`}
      <div class="buttons">
        <button type="button" onClick=${onClose}>取消</button>
        <button type="submit" class="primary" disabled=${busy}>${confirmLabel}</button>
      </div>
    </form>
  </div>`;
}

/** A <select> over an enum's values with their labels; "" stands for "any". */
export function EnumSelect({ enumName, value, onChange, any = "全部", name, only }) {
  const options = only || values(enumName);
  return html`<select name=${name} aria-label=${name} value=${value} onChange=${(e) => onChange(e.target.value)}>
    ${any !== null && html`<option value="">${any}</option>`}
    ${options.map((v) => html`<option value=${v}>${label(enumName, v)}</option>`)}
  </select>`;
}
