import type {
  ArtifactDataConnection,
  Batch,
  BatchHandoff,
  DeploymentPackage,
  EvidenceChecklist,
  ExecutionRecordTemplate,
  HandoffConnection,
} from "../../schemas/types.js";
import type { Compilation } from "../compiler/compile.js";
import { buildSiteArtifacts } from "../compiler/package/build.js";
import { API_VERSION } from "../contract/api.js";
import { evidencePath, recordPath, splitId } from "../contract/layout.js";

/** The four preparation artifacts of section 2.9, written to batches/<name>/ on the deploy branch. */
export interface Preparation {
  handoff: BatchHandoff;
  checklist: EvidenceChecklist;
  template: ExecutionRecordTemplate;
  report: string;
}

type EvidenceItem = EvidenceChecklist["items"][number];
const ALL_EVIDENCE: EvidenceItem[] = ["values-snapshot", "alarm-states", "connection-health", "event-log"];
const EVIDENCE_WHAT: Record<EvidenceItem, string> = {
  "values-snapshot": "every attribute's value, quality and source timestamp after the settle time",
  "alarm-states": "every alarm's state and its transitions since the apply",
  "connection-health": "the state of each data connection the instance uses, and its tag resolution counts",
  "event-log": "the site event log entries of this instance since the apply",
};

/** Result states, whether each counts as a failure, and what it means (the failure taxonomy of 2.9). */
export const RESULT_STATES: ExecutionRecordTemplate["resultStates"] = [
  { state: "pass", failure: false, meaning: "applied and verified: values flow, no blocker" },
  {
    state: "login-blocked",
    failure: true,
    meaning: "credentials rejected, or the named secret is missing on the site",
  },
  { state: "network-blocked", failure: true, meaning: "an endpoint is unreachable" },
  {
    state: "host-bridge-blocked",
    failure: true,
    meaning: "server reachable, but the session or subscription was refused",
  },
  {
    state: "local-runtime-blocked",
    failure: true,
    meaning: "the site runtime refused the package (script compile, sandbox)",
  },
  {
    state: "data-mismatch",
    failure: true,
    meaning: "tags missing, wrong data type, or bad quality after the settle time",
  },
  { state: "artifact-mismatch", failure: true, meaning: "the package's hash or schema check failed on the site" },
  {
    state: "environment-unavailable",
    failure: true,
    meaning: "no record before the batch deadline (set by the controller)",
  },
  { state: "runtime-error", failure: true, meaning: "anything else, with the error" },
];

const REDACTION = [
  "No credential values, tokens, cookies or session material in any evidence file or record.",
  "Evidence files reference secrets by name only.",
  "Event log excerpts are copied as the site logged them; the site never logs secret values.",
];

function handoffConnection(c: ArtifactDataConnection): HandoffConnection {
  return {
    name: c.name,
    endpoint: c.endpoint,
    securityMode: c.securityMode,
    securityPolicy: c.securityPolicy,
    auth: c.auth.type,
    secret: c.auth.type === "username" ? c.auth.passwordSecret : null,
  };
}

/**
 * The preparation artifacts of a batch, for its selected instances (revision hash, or null for a deletion).
 * commit is where the selection was fixed (phase execute), null while the batch is prepared from every commit.
 * Pure: the same inputs give the same bytes. They hold secret names, never values.
 */
export function prepare(
  batch: Batch,
  commit: string | null,
  c: Compilation,
  instances: Record<string, string | null>,
): Preparation {
  const items = (batch.evidence ?? ALL_EVIDENCE) as EvidenceItem[];
  const ids = Object.keys(instances).sort();
  const packages = new Map<string, DeploymentPackage>(
    c.packages(ids.filter((id) => instances[id] !== null)).map((p) => [`${p.instance.site}/${p.instance.name}`, p]),
  );
  const siteConnections = new Map<string, Map<string, ArtifactDataConnection>>();
  const connectionsOf = (site: string) => {
    let m = siteConnections.get(site);
    if (!m) {
      const info = c.index.sites.get(site);
      m = new Map(info ? buildSiteArtifacts(info, c.shared.registry).dataConnections.map((d) => [d.name, d]) : []);
      siteConnections.set(site, m);
    }
    return m;
  };

  const handoff: BatchHandoff = {
    apiVersion: API_VERSION,
    kind: "BatchHandoff",
    batch: batch.name,
    sourceCommit: commit,
    instances: [],
    sites: {},
  };
  for (const id of ids) {
    const [site] = splitId(id);
    const p = packages.get(id);
    const used = [
      ...new Set((p?.attributes ?? []).map((a) => a.connection).filter((n): n is string => n !== null)),
    ].sort();
    const connections = used
      .map((n) => connectionsOf(site).get(n))
      .filter((d): d is ArtifactDataConnection => !!d)
      .map(handoffConnection);
    const secrets = [...new Set(connections.map((x) => x.secret).filter((s): s is string => s !== null))].sort();
    handoff.instances.push({
      id,
      site,
      template: p?.instance.template ?? "(deleted)",
      revisionHash: instances[id] ?? null,
      connections,
      secrets,
      tagCount: (p?.attributes ?? []).filter((a) => a.source === "data").length,
      scripts: (p?.scripts ?? []).map((s) => s.path),
    });
    const s = (handoff.sites[site] ??= { connections: [], secrets: [], instances: 0 });
    s.instances++;
    for (const conn of connections) if (!s.connections.some((x) => x.name === conn.name)) s.connections.push(conn);
    s.secrets = [...new Set([...s.secrets, ...secrets])].sort();
  }
  for (const s of Object.values(handoff.sites)) s?.connections.sort((a, b) => (a.name < b.name ? -1 : 1));

  const checklist: EvidenceChecklist = {
    apiVersion: API_VERSION,
    kind: "EvidenceChecklist",
    batch: batch.name,
    items,
    redaction: REDACTION,
    instances: ids.map((id) => {
      const [, name] = splitId(id);
      return {
        id,
        record: recordPath(batch.name, name),
        evidence: items.map((item) => ({
          item,
          path: evidencePath(batch.name, name, item),
          what: EVIDENCE_WHAT[item],
        })),
      };
    }),
  };

  const template: ExecutionRecordTemplate = {
    apiVersion: API_VERSION,
    kind: "ExecutionRecordTemplate",
    batch: batch.name,
    fields: {
      batch: "this batch's name",
      site: "the site that applied the instance",
      instance: "the instance's name",
      revisionHash: "the revision applied (null for a released deletion)",
      deployCommit: "the deploy-branch commit the site applied",
      result: "exactly one of resultStates",
      message: "what happened, in words, for a failed result",
      evidence: "references to the evidence files (item and path), never their contents and never credential values",
      startedAt: "when the site started applying",
      recordedAt: "when the site wrote this record",
    },
    resultStates: RESULT_STATES,
    records: ids.map((id) => {
      const [site, name] = splitId(id);
      return {
        site,
        instance: name,
        revisionHash: instances[id] ?? null,
        path: recordPath(batch.name, name),
        result: null,
        evidence: items,
      };
    }),
  };

  return { handoff, checklist, template, report: report(batch, commit, handoff, checklist) };
}

function report(batch: Batch, commit: string | null, h: BatchHandoff, ev: EvidenceChecklist): string {
  const sites = Object.keys(h.sites).sort();
  const lines = [
    `# Batch ${batch.name}: preparation`,
    "",
    "**Preparation only.** This report prepares the batch for execution. It releases nothing and claims no execution:",
    "no result of any site is stated here. What the sites report appears in `status.json` once the batch is released.",
    "",
    commit
      ? `- Fixed at commit: \`${commit}\``
      : "- Prepared from the current state of main (fixed when the batch becomes `execute`)",
    `- Phase: \`${batch.phase ?? "prepare"}\``,
    `- Selected: ${h.instances.length} instance${h.instances.length === 1 ? "" : "s"} at ${sites.length} site${sites.length === 1 ? "" : "s"}`,
    `- After: ${(batch.after ?? []).map((a) => `\`${a}\``).join(", ") || "none"}`,
    `- Failure policy: halt when more than ${batch.failurePolicy?.maxFailed ?? 0} fail; records due within ${batch.deadlineMinutes ?? 60} minutes of the release`,
    "",
    "## Environment handoff",
    "",
    "Each site must provide these before the batch runs. Credentials stay outside the repository: each site supplies",
    "its secrets by name (environment variable `SCADALINK_SECRET_<NAME>` or a file in its secrets directory).",
    "",
    "| site | instances | connections | secrets to provide |",
    "|---|---|---|---|",
    ...sites.map((s) => {
      const x = h.sites[s]!;
      const conns = x.connections.map((c) => `${c.name} (${c.endpoint}, ${c.securityMode})`).join("; ") || "none";
      return `| ${s} | ${x.instances} | ${conns} | ${x.secrets.map((n) => `\`${n}\``).join(", ") || "none"} |`;
    }),
    "",
    "## Evidence",
    "",
    `Every execution record goes to \`batches/${batch.name}/<instance>.json\` on its site's status branch and references:`,
    ...ev.items.map((i) => `- \`${i}\`: ${EVIDENCE_WHAT[i]}`),
    "",
    ...ev.redaction.map((r) => `- ${r}`),
    "",
    "## Result states",
    "",
    ...RESULT_STATES.map((r) => `- \`${r.state}\`: ${r.meaning}`),
    "",
    "## Next step",
    "",
    "To release the batch, change `phase: prepare` to `phase: execute` in a reviewed pull request. It then releases exactly",
    "the selected instances as compiled at the commit where it becomes `execute`" +
      ((batch.after ?? []).length ? ", once every batch in `after` is complete." : "."),
    "",
  ];
  return lines.join("\n");
}
