import type { PairNodeStatus } from "../schemas/types.js";
import type { InstanceView, RuntimeView } from "../site-reconciler/runtime/view.js";
import type { EventRow } from "../site-reconciler/store/store.js";
import { esc, shortHash } from "./render.js";
import type { Pages } from "./server.js";

/** What a site's own pages are made of: its runtime's live view, its event log, its pair. */
export interface SiteSource {
  site: string;
  view: () => RuntimeView | undefined;
  deployCommit: () => string | null;
  events: (o: { instance?: string; limit: number }) => EventRow[];
  nodes?: () => PairNodeStatus[] | undefined;
}

interface SiteSnapshot {
  deployCommit: string | null;
  instances: InstanceView[];
  nodes: PairNodeStatus[] | null;
}

/** Events shown under a page. */
const EVENTS = 30;

/**
 * A site's pages from `scadalink site --ui-port` (SPEC 11, the debug view): every instance with its live values,
 * qualities and alarms, and the newest events, read from the runtime again at every poll and pushed when they
 * changed. `/` is the site, `/instances/<name>` one instance.
 */
export function sitePages(s: SiteSource): Pages {
  let snap: SiteSnapshot | undefined;
  let text = "";
  let eventsText = "";
  const read = (): SiteSnapshot => ({
    deployCommit: s.deployCommit(),
    instances: s.view()?.instances() ?? [],
    nodes: s.nodes?.() ?? null,
  });
  return {
    async refresh() {
      const next = read();
      const t = JSON.stringify(next);
      const e = JSON.stringify(s.events({ limit: 1 }));
      if (t === text && e === eventsText) return false;
      snap = next;
      text = t;
      eventsText = e;
      return true;
    },
    ready: () => snap !== undefined,
    body(path) {
      if (!snap) return undefined;
      if (path === "/") return siteDebugBody(s.site, snap, s.events({ limit: EVENTS }));
      const m = /^\/instances\/([^/]+)$/.exec(path);
      if (!m) return undefined;
      const name = decodeURIComponent(m[1]!);
      const i = snap.instances.find((x) => x.name === name);
      return i ? instanceDebugBody(s.site, i, s.events({ instance: name, limit: EVENTS })) : undefined;
    },
    title: (path) => (path === "/" ? s.site : `${s.site}/${decodeURIComponent(path.split("/").at(-1) ?? "")}`),
    json: (path) => (path === "/api/site" ? JSON.stringify({ site: s.site, ...snap }) : undefined),
  };
}

const showValue = (v: unknown) => {
  const t = v === undefined || v === null ? "—" : JSON.stringify(v);
  return t.length > 60 ? `${t.slice(0, 59)}…` : t;
};

function instanceTables(site: string, i: InstanceView, link: boolean): string {
  const href = `/instances/${encodeURIComponent(i.name)}`;
  const bad = i.result !== "pass";
  const rows = i.attributes
    .map(
      (a) =>
        `<tr data-filter="${esc(`${i.name} ${a.path} ${a.quality}`)}" data-attribute="${esc(`${i.name}/${a.path}`)}"><td>${esc(a.path)}</td><td class="value"><code>${esc(showValue(a.value))}</code></td><td class="${a.quality === "good" ? "" : a.quality === "bad" ? "alarm" : "warn"}">${esc(a.quality)}</td><td>${esc(a.timestamp ?? "—")}</td></tr>`,
    )
    .join("");
  const alarms = i.alarms
    .map(
      (a) =>
        `<tr data-filter="${esc(`${i.name} ${a.path} ${a.active ? "active" : "normal"}`)}" data-alarm="${esc(`${i.name}/${a.path}`)}"><td>${esc(a.path)}</td><td class="${a.active ? "alarm" : ""}">${a.active ? "ACTIVE" : "normal"}</td><td>${a.priority}</td><td>${esc(a.since ?? "not evaluated")}</td></tr>`,
    )
    .join("");
  return `<section class="instance" aria-label="${esc(i.name)}" data-filter="${esc(`${site} ${i.name} ${i.state} ${i.result}`)}">
<h2>${link ? `<a href="${href}">${esc(i.name)}</a>` : esc(i.name)} <span class="meta"><code>${esc(shortHash(i.revisionHash))}</code> ${esc(i.state)}</span> <span class="${bad ? "alarm" : "ok"}">${esc(i.result)}</span></h2>
${i.message ? `<p class="${bad ? "alarm" : "meta"}">${esc(i.message)}</p>` : ""}
<table><thead><tr><th scope="col">attribute</th><th scope="col">value</th><th scope="col">quality</th><th scope="col">timestamp</th></tr></thead><tbody>${rows}</tbody></table>
${alarms ? `<table><thead><tr><th scope="col">alarm</th><th scope="col">state</th><th scope="col">priority</th><th scope="col">since</th></tr></thead><tbody>${alarms}</tbody></table>` : ""}
</section>`;
}

function eventTable(events: EventRow[]): string {
  if (!events.length) return "<p>no events</p>";
  return `<table class="events"><thead><tr><th scope="col">at</th><th scope="col">kind</th><th scope="col">instance</th><th scope="col">message</th></tr></thead><tbody>${[
    ...events,
  ]
    .reverse()
    .map(
      (e) =>
        `<tr data-filter="${esc(`${e.kind} ${e.instance ?? ""} ${e.message}`)}"><td>${esc(e.at)}</td><td>${esc(e.kind)}</td><td>${esc(e.instance ?? "")}</td><td>${esc(e.message)}</td></tr>`,
    )
    .join("")}</tbody></table>`;
}

function siteDebugBody(site: string, s: SiteSnapshot, events: EventRow[]): string {
  const pair = s.nodes
    ? `<p class="meta">pair: ${s.nodes.map((n) => `${esc(n.node)} ${esc(n.role)} (epoch ${n.epoch})`).join(", ")}</p>`
    : "";
  const active = s.instances.reduce((n, i) => n + i.alarms.filter((a) => a.active).length, 0);
  return `<h1>${esc(site)} <span class="meta">live</span></h1>
<p class="meta">deploy <code>${esc(s.deployCommit?.slice(0, 10) ?? "none")}</code> · ${s.instances.length} instances running here · ${active ? `<span class="alarm">${active} alarm${active > 1 ? "s" : ""} active</span>` : `<span class="ok">no alarm active</span>`}</p>
${pair}
${s.instances.map((i) => instanceTables(site, i, true)).join("\n")}
<h2>Events</h2>
${eventTable(events)}`;
}

function instanceDebugBody(site: string, i: InstanceView, events: EventRow[]): string {
  return `<p><a href="/">${esc(site)}</a> › ${esc(i.name)}</p>
${instanceTables(site, i, false)}
<h2>Events</h2>
${eventTable(events)}`;
}
