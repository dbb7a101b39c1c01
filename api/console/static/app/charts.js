// ECharts, loaded only by the pages that draw (the board's first paint does not wait for it).
import { html, useEffect, useRef } from "./ui.js";

let loading = null;
export function echarts() {
  if (!loading) loading = import("/static/vendor/echarts@6.1.0/echarts.esm.min.js");
  return loading;
}

/** A chart of `option` (ECharts' option object), redrawn when it changes; `label` names it for
 * screen readers, and `summary` says in words what it shows. */
export function Chart({ option, label, summary }) {
  const box = useRef(null);
  const chart = useRef(null);
  useEffect(() => {
    let observer = null;
    let live = true;
    echarts().then((ec) => {
      if (!live || !box.current) return;
      chart.current = ec.init(box.current, null, { renderer: "canvas" });
      chart.current.setOption(option);
      box.current.dataset.ready = "true";
      observer = new ResizeObserver(() => chart.current && chart.current.resize());
      observer.observe(box.current);
    });
    return () => {
      live = false;
      if (observer) observer.disconnect();
      if (chart.current) chart.current.dispose();
      chart.current = null;
    };
  }, []);
  useEffect(() => {
    if (chart.current) chart.current.setOption(option, true);
  }, [option]);
  return html`<figure class="chart">
    <div ref=${box} class="chart-box" role="img" aria-label=${label}></div>
    ${summary && html`<figcaption class="sr-only">${summary}</figcaption>`}
  </figure>`;
}
