import type { InstanceDetail } from "./instance.js";
import type { BatchView, FleetView, InstanceView, SiteView } from "./model.js";

// HTML of the dashboard's pages, rendered on the server: the first paint is the whole table, with no script needed,
// and live updates swap in the same HTML (one renderer, no second one in the browser). Every value is escaped.
// Colour follows ISA-101 habits: grey for normal, colour only for what is abnormal.

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
export const esc = (v: unknown): string => String(v ?? "").replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/** A revision hash as people compare them: the first 10 hex digits. */
export const shortHash = (h: string | null): string => (h ? h.replace(/^sha256:/, "").slice(0, 10) : "—");

const instanceHref = (site: string, name: string) =>
  `/instances/${encodeURIComponent(site)}/${encodeURIComponent(name)}`;
const siteHref = (site: string) => `/sites/${encodeURIComponent(site)}`;

/** The page around a body: header, search box, the live-update script. */
export function page(title: string, body: string, o: { live?: string } = {}): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · ScadaLink</title>
<link rel="stylesheet" href="/assets/app.css">
<script type="module" src="/assets/app.js"></script>
</head>
<body${o.live ? ` data-live="${esc(o.live)}"` : ""}>
<header>
<nav aria-label="main"><a href="/" class="brand">ScadaLink fleet</a></nav>
<label class="search">Filter <input id="filter" type="search" placeholder="site, instance, state… (press /)" autocomplete="off"></label>
<span id="live" class="live" role="status" aria-live="polite">live</span>
</header>
<main id="main">
${body}
</main>
</body>
</html>
`;
}

/** The fleet overview: a summary per site, then every instance of every site. */
export function fleetBody(v: FleetView): string {
  const deploy = `<p class="meta">deploy <code>${esc(shortHash(v.deployCommit))}</code> from main <code>${esc(
    shortHash(v.sourceCommit),
  )}</code> · ${v.sites.length} sites · ${v.sites.reduce((n, s) => n + s.instances.length, 0)} instances</p>`;
  const sites = v.sites.map(siteSummary).join("\n");
  const batches = v.batches.length
    ? `<h2>Batches</h2>
<table class="batches"><thead><tr><th scope="col">batch</th><th scope="col">phase</th><th scope="col">state</th><th scope="col">progress</th></tr></thead><tbody>
${v.batches
  .map(
    (b) =>
      `<tr data-filter="${esc(`${b.batch} ${b.state}`)}"><td><a href="/batches/${encodeURIComponent(b.batch)}">${esc(b.batch)}</a></td><td>${esc(b.phase)}</td><td class="${b.state === "halted" ? "alarm" : ""}">${esc(b.state)}</td><td>${b.counts.passed}/${b.counts.selected} passed${b.counts.failed ? `, <span class="alarm">${b.counts.failed} failed</span>` : ""}</td></tr>`,
  )
  .join("\n")}
</tbody></table>`
    : "";
  // One table per site, each in a section the browser lays out only when it comes into view: a fleet of thousands
  // of instances is all in the page (the filter and deep links see every row) without painting rows off screen.
  const tables = v.sites
    .filter((s) => s.instances.length)
    .map(
      (s) => `<section class="site-rows" aria-label="instances of ${esc(s.site)}">
<table class="fleet"><caption>${esc(s.site)}</caption>${FLEET_HEAD}<tbody>
${s.instances.map((i) => instanceRow(s, i)).join("\n")}
</tbody></table></section>`,
    )
    .join("\n");
  return `<h1>Fleet</h1>
${deploy}
<h2>Sites</h2>
<section aria-label="sites" class="sites">
${sites}
</section>
${batches}
<h2>Instances</h2>
${tables}`;
}

const FLEET_HEAD = `<thead><tr><th scope="col">site</th><th scope="col">instance</th><th scope="col">desired</th><th scope="col">applied</th><th scope="col">state</th><th scope="col">result</th><th scope="col">alarms</th></tr></thead>`;

function siteSummary(s: SiteView): string {
  const flags: string[] = [];
  if (s.offline) flags.push(`<span class="alarm">offline</span>`);
  if (!s.converged) flags.push(`<span class="warn">converging</span>`);
  if (s.sync && s.sync !== "ok") flags.push(`<span class="alarm">sync ${esc(s.sync)}</span>`);
  const down = s.connections.filter((c) => c.state !== "connected");
  if (down.length) flags.push(`<span class="alarm">${down.length} connection${down.length > 1 ? "s" : ""} down</span>`);
  if (s.quality?.bad) flags.push(`<span class="alarm">${s.quality.bad} bad</span>`);
  if (s.activeAlarms) flags.push(`<span class="alarm">${s.activeAlarms} alarm${s.activeAlarms > 1 ? "s" : ""}</span>`);
  const sf = s.storeAndForward;
  if (sf?.parked) flags.push(`<span class="alarm">${sf.parked} parked</span>`);
  if (sf?.queued) flags.push(`<span class="warn">${sf.queued} queued</span>`);
  const pair = s.nodes
    ? `<span class="pair">${s.nodes.map((n) => `${esc(n.node)} ${n.role === "active" || n.role === "standby" ? esc(n.role) : `<span class="warn">${esc(n.role)}</span>`}`).join(", ")}</span>`
    : "";
  return `<article class="site${s.offline ? " offline" : ""}" data-site="${esc(s.site)}" data-filter="${esc(
    `${s.site} ${s.offline ? "offline" : "online"}`,
  )}"><h3><a href="${siteHref(s.site)}">${esc(s.site)}</a></h3>
<p>${s.instances.length} instance${s.instances.length === 1 ? "" : "s"} · last seen <time datetime="${esc(s.lastSeen ?? "")}">${esc(s.lastSeen ?? "never")}</time>${pair ? ` · ${pair}` : ""}</p>
<p class="flags">${flags.length ? flags.join(" ") : `<span class="ok">normal</span>`}</p></article>`;
}

function instanceRow(s: SiteView, i: InstanceView): string {
  const bad = i.result !== null && i.result !== "pass";
  return `<tr data-instance="${esc(`${s.site}/${i.name}`)}" data-filter="${esc(
    `${s.site} ${i.name} ${i.state ?? ""} ${i.result ?? ""}${i.pending ? " pending" : ""}${s.offline ? " offline" : ""}`,
  )}"${s.offline ? ` class="offline"` : ""}>
<td><a href="${siteHref(s.site)}">${esc(s.site)}</a></td><td><a href="${instanceHref(s.site, i.name)}">${esc(i.name)}</a></td>
<td><code>${esc(shortHash(i.desired))}</code></td><td class="applied${i.pending ? " warn" : ""}"><code>${esc(shortHash(i.applied))}</code></td>
<td>${esc(i.state ?? "—")}</td><td class="${bad ? "alarm" : ""}">${esc(i.result ?? "—")}</td><td class="${i.activeAlarms ? "alarm" : ""}">${i.activeAlarms || ""}</td></tr>`;
}

/** One site: its health, its pair, its instances. */
export function siteBody(v: FleetView, site: string): string | undefined {
  const s = v.sites.find((x) => x.site === site);
  if (!s) return undefined;
  const conn = s.connections.length
    ? `<ul>${s.connections.map((c) => `<li>${esc(c.name)}: <span class="${c.state === "connected" ? "" : "alarm"}">${esc(c.state)}</span></li>`).join("")}</ul>`
    : "<p>no data connections reported</p>";
  const nodes = s.nodes
    ? `<h2>Pair</h2><table><thead><tr><th scope="col">node</th><th scope="col">role</th><th scope="col">epoch</th><th scope="col">last heartbeat</th><th scope="col">replication lag</th></tr></thead><tbody>${s.nodes
        .map(
          (n) =>
            `<tr><td>${esc(n.node)}</td><td class="${n.role === "unknown" || n.role === "stepping-down" ? "warn" : ""}">${esc(n.role)}</td><td>${n.epoch}</td><td>${esc(n.lastHeartbeat ?? "—")}</td><td>${n.replicationLagMs === null ? "—" : `${n.replicationLagMs} ms`}</td></tr>`,
        )
        .join("")}</tbody></table>`
    : "";
  const sf = s.storeAndForward;
  const backlog = sf
    ? `<h2>Store-and-forward</h2><p><span class="${sf.queued ? "warn" : ""}">${sf.queued} queued</span>${sf.oldestQueuedAt ? ` (oldest ${esc(sf.oldestQueuedAt)})` : ""}, <span class="${sf.parked ? "alarm" : ""}">${sf.parked} parked</span>${sf.held ? `, <span class="warn">${sf.held} held</span>` : ""}</p>`
    : "";
  const parked = s.parked?.total
    ? `<h2>Parked messages</h2><p><span class="alarm">${s.parked.total} parked</span>${s.parked.total > s.parked.messages.length ? ` (the newest ${s.parked.messages.length} shown)` : ""}: retry or discard them with <code>scadalink site parked</code> on the site, or a ParkedMessages document.</p>
<table class="parked"><thead><tr><th scope="col">id</th><th scope="col">target</th><th scope="col">what</th><th scope="col">instance</th><th scope="col">attempts</th><th scope="col">last error</th><th scope="col">parked</th></tr></thead><tbody>${s.parked.messages
        .map(
          (m) =>
            `<tr data-filter="${esc(`${m.id} ${m.target} ${m.instance ?? ""} ${m.lastError ?? ""}`)}"><td><code>${esc(m.id)}</code></td><td>${esc(m.kind)} ${esc(m.target)}</td><td>${esc(m.label)}</td><td>${esc(m.instance ?? "—")}</td><td>${m.attempts}</td><td>${esc(m.lastError ?? "")}</td><td>${esc(m.parkedAt)}</td></tr>`,
        )
        .join("")}</tbody></table>`
    : "";
  return `<p><a href="/">Fleet</a> › ${esc(s.site)}</p>
<h1>${esc(s.site)}${s.offline ? ` <span class="alarm">offline</span>` : ""}</h1>
<p class="meta">last seen <time datetime="${esc(s.lastSeen ?? "")}">${esc(s.lastSeen ?? "never")}</time> · applied deploy <code>${esc(shortHash(s.appliedDeployCommit))}</code> · sync ${esc(s.sync ?? "—")}</p>
<h2>Connections</h2>${conn}
${nodes}
${backlog}
${parked}
<h2>Instances</h2>
<table class="fleet">${FLEET_HEAD}<tbody>
${s.instances.map((i) => instanceRow(s, i)).join("\n")}
</tbody></table>`;
}

/** One batch: its state, its progress, and every instance it selected with its result and record. */
export function batchBody(v: FleetView, name: string): string | undefined {
  const b = v.batches.find((x) => x.batch === name);
  if (!b) return undefined;
  const done = b.counts.passed + b.counts.failed;
  const rows = b.instances
    .map((i) => {
      const [site, inst] = [i.id.slice(0, i.id.indexOf("/")), i.id.slice(i.id.indexOf("/") + 1)];
      const bad = i.result !== null && i.result !== "pass";
      return `<tr data-filter="${esc(`${i.id} ${i.result ?? "pending"}`)}"><td><a href="${instanceHref(site, inst)}">${esc(i.id)}</a></td><td><code>${esc(shortHash(i.revisionHash))}</code></td><td class="${bad ? "alarm" : i.result === null ? "warn" : ""}">${esc(i.result ?? "pending")}</td><td>${esc(i.message ?? "")}</td><td>${i.recordedAt ? `<time datetime="${esc(i.recordedAt)}">${esc(i.recordedAt)}</time>` : "—"}</td><td>${esc(i.evidence.join(", "))}</td></tr>`;
    })
    .join("\n");
  return `<p><a href="/">Fleet</a> › batch ${esc(b.batch)}</p>
<h1>Batch ${esc(b.batch)} <span class="${stateClass(b)}">${esc(b.state)}</span></h1>
<p class="meta">phase ${esc(b.phase)} · released ${esc(b.releasedAt ?? "not yet")}${b.deadline ? ` · deadline ${esc(b.deadline)}` : ""} · at most ${b.maxFailed} may fail${b.reason ? ` · ${esc(b.reason)}` : ""}</p>
<p><label for="progress">progress</label> <progress id="progress" max="${b.counts.selected}" value="${done}">${done}/${b.counts.selected}</progress>
${b.counts.passed} passed, <span class="${b.counts.failed ? "alarm" : ""}">${b.counts.failed} failed</span>, ${b.counts.pending} pending of ${b.counts.selected}</p>
<table class="batch"><thead><tr><th scope="col">instance</th><th scope="col">revision</th><th scope="col">result</th><th scope="col">message</th><th scope="col">recorded</th><th scope="col">evidence</th></tr></thead><tbody>
${rows}
</tbody></table>`;
}

const stateClass = (b: BatchView) => (b.state === "halted" ? "alarm" : b.state === "complete" ? "" : "warn");

const show = (v: unknown): string => {
  const text = typeof v === "string" ? v : JSON.stringify(v);
  return text === undefined ? "—" : text.length > 120 ? `${text.slice(0, 119)}…` : text;
};

/** One instance: its revisions, the member-level diff between two of them, its package with provenance, records. */
export function instanceBody(d: InstanceDetail): string {
  const base = instanceHref(d.site, d.name);
  const revs = d.revisions
    .map((r) => {
      const current = r === d.to ? ` aria-current="true"` : "";
      const compare =
        d.to && r !== d.to
          ? ` · <a href="${base}?from=${esc(r.deployCommit)}&amp;to=${esc(d.to.deployCommit)}">compare with shown</a>`
          : "";
      return `<li${current}><a href="${base}?to=${esc(r.deployCommit)}"><code>${esc(shortHash(r.revisionHash))}</code></a> released <time datetime="${esc(r.at)}">${esc(r.at)}</time> in deploy <code>${esc(r.deployCommit.slice(0, 10))}</code>${compare}</li>`;
    })
    .join("\n");
  const diff = !d.from
    ? "<p>the first revision released: nothing to compare with</p>"
    : d.changes.length === 0
      ? "<p>no member differs</p>"
      : `<table class="diff"><thead><tr><th scope="col">what</th><th scope="col">change</th><th scope="col">before</th><th scope="col">after</th></tr></thead><tbody>${d.changes
          .map(
            (c) =>
              `<tr data-filter="${esc(c.what)}"><td><code>${esc(c.what)}</code></td><td>${esc(c.kind)}${c.lines ? ` (+${c.lines.added} −${c.lines.removed} lines)` : ""}</td><td>${c.kind === "added" ? "" : `<code>${esc(show(c.before))}</code>`}</td><td>${c.kind === "removed" ? "" : `<code>${esc(show(c.after))}</code>`}</td></tr>`,
          )
          .join("")}</tbody></table>`;
  const prov = d.provenance
    ? d.provenance
        .map(
          (s) =>
            `<h3>${esc(s.title)}</h3><table class="provenance"><thead><tr><th scope="col">field</th><th scope="col">value</th><th scope="col">from</th><th scope="col">layer</th></tr></thead><tbody>${s.rows
              .map(
                (r) =>
                  `<tr data-filter="${esc(`${s.title} ${r.field}`)}"><td>${esc(r.field)}</td><td><code>${esc(show(r.value))}</code></td><td><code>${esc(r.where)}</code></td><td>${esc(r.layer)}</td></tr>`,
              )
              .join("")}</tbody></table>`,
        )
        .join("\n")
    : d.pkg
      ? `<p>main no longer compiles to this revision: its members are shown without where each field came from.</p>${memberList(d.pkg)}`
      : "";
  const excerpts = d.records
    .filter((r) => r.events.length)
    .map(
      (r) =>
        `<h3>Event log of batch ${esc(r.batch)} <span class="meta">(the newest ${r.events.length} of ${r.eventCount}, from the record's evidence)</span></h3><table class="events"><thead><tr><th scope="col">at</th><th scope="col">kind</th><th scope="col">message</th></tr></thead><tbody>${r.events
          .map((e) => `<tr><td>${esc(e.at)}</td><td>${esc(e.kind)}</td><td>${esc(e.message)}</td></tr>`)
          .join("")}</tbody></table>`,
    )
    .join("\n");
  const records = d.records.length
    ? `<table><thead><tr><th scope="col">batch</th><th scope="col">result</th><th scope="col">message</th><th scope="col">recorded</th><th scope="col">evidence</th></tr></thead><tbody>${d.records
        .map(
          (r) =>
            `<tr><td><a href="/batches/${encodeURIComponent(r.batch)}">${esc(r.batch)}</a></td><td class="${r.result === "pass" ? "" : "alarm"}">${esc(r.result)}</td><td>${esc(r.message ?? "")}</td><td>${esc(r.recordedAt)}</td><td>${esc(r.evidence.join(", "))}</td></tr>`,
        )
        .join("")}</tbody></table>`
    : "<p>no execution record</p>";
  return `<p><a href="/">Fleet</a> › <a href="${siteHref(d.site)}">${esc(d.site)}</a> › ${esc(d.name)}</p>
<h1>${esc(d.site)}/${esc(d.name)}</h1>
<p class="meta">shown <code>${esc(shortHash(d.to?.revisionHash ?? null))}</code>${d.from ? `, compared with <code>${esc(shortHash(d.from.revisionHash))}</code>` : ""}${d.pkg ? ` · template ${esc(d.pkg.templateChain.join(" ← "))} · ${esc(d.pkg.instance.state)}` : ""}</p>
<h2>Changes</h2>
${diff}
<h2>Revisions</h2>
<ol class="revisions">${revs}</ol>
<h2>Package</h2>
${d.provenanceFrom ? `<p class="meta">where each value came from, as main <code>${esc(d.provenanceFrom.slice(0, 10))}</code> writes it</p>` : ""}
${prov}
<h2>Execution records</h2>
${records}
${excerpts}`;
}

function memberList(p: InstanceDetail["pkg"] & object): string {
  const rows = [
    ...p.attributes.map((m) => ["attribute", m.path]),
    ...p.alarms.map((m) => ["alarm", m.path]),
    ...p.scripts.map((m) => ["script", m.path]),
  ];
  return `<ul>${rows.map(([k, path]) => `<li>${esc(k)} <code>${esc(path)}</code></li>`).join("")}</ul>`;
}

export function notFoundBody(what: string): string {
  return `<p><a href="/">Fleet</a></p><h1>Not found</h1><p>${esc(what)}</p>`;
}
