import type { Palette } from "../../cli/output/color.js";
import type { Plan, SitePlan } from "./plan.js";

/** Marks the pull-request comment the controller owns, so it is updated in place instead of posted again. */
export const PLAN_MARKER = "<!-- scadalink-plan -->";
/** GitHub refuses comments over 65,536 characters. */
const MAX_COMMENT = 60_000;
const MAX_CHANGES_SHOWN = 25;

const n = (k: number, w: string) => `${k} ${w}${k === 1 ? "" : "s"}`;
const short = (sha: string | null) => (sha ? sha.slice(0, 7) : "none");

/** A site with something to show: a change, a stale or unreleased instance, or new site artifacts. */
const hasNews = (s: SitePlan) =>
  s.added.length + s.changed.length + s.removed.length + s.stale.length + s.unreleased.length > 0 ||
  s.siteArtifactsChanged;

function headline(p: Plan): string {
  const t = p.totals;
  const touched = p.sites.filter((s) => s.added.length + s.changed.length + s.removed.length > 0).length;
  return `${n(t.added + t.changed + t.removed, "instance")} change at ${n(touched, "site")} (rollout ${p.mode}): ${t.added} added, ${t.changed} changed, ${t.removed} removed, ${t.unchanged} unchanged${p.mode === "batch" ? `, ${t.stale} stale, ${t.unreleased} not released yet` : ""}`;
}

/** The plan for a terminal. */
export function renderPlanText(p: Plan, c: Palette): string {
  const out: string[] = [`plan for ${short(p.commit)} against deploy ${short(p.against)}`];
  if (!p.ok) {
    out.push(c.red(`✖ ${n(p.errorCount, "error")}: nothing would be released`));
    for (const d of p.diagnostics.filter((x) => x.severity === "error"))
      out.push(`  ${d.file}:${d.line}:${d.column}  ${d.message}  ${c.dim(d.rule)}`);
    return `${out.join("\n")}\n`;
  }
  out.push(headline(p));
  for (const s of p.sites) {
    if (!hasNews(s)) continue;
    out.push("", c.bold(s.site));
    if (s.siteArtifactsChanged)
      out.push(`  ~ site.json (data connections, shared scripts, integrations or branch names)`);
    for (const i of s.added) out.push(c.green(`  + ${i.name}`) + (i.batch ? c.dim(`  (batch ${i.batch})`) : ""));
    for (const i of s.removed) out.push(c.red(`  - ${i.name}`) + (i.batch ? c.dim(`  (batch ${i.batch})`) : ""));
    for (const i of s.changed) {
      out.push(c.yellow(`  ~ ${i.name}`) + (i.batch ? c.dim(`  (batch ${i.batch})`) : ""));
      for (const ch of i.changes) out.push(`      ${ch}`);
    }
    if (s.stale.length) out.push(c.yellow(`  stale (deployed at an older revision): ${s.stale.join(", ")}`));
    if (s.unreleased.length) out.push(c.dim(`  not released yet: ${s.unreleased.join(", ")}`));
  }
  if (p.batches.length) {
    out.push("", c.bold("batches"));
    for (const b of p.batches) out.push(`  ${b.name}  ${b.phase}  ${b.state}  ${c.dim(b.effect)}`);
  }
  return `${out.join("\n")}\n`;
}

function siteMarkdown(s: SitePlan): string[] {
  const rows: string[] = [];
  for (const i of s.added) rows.push(`| ➕ | \`${i.name}\` | added${i.batch ? ` (batch \`${i.batch}\`)` : ""} |`);
  for (const i of s.removed) rows.push(`| ➖ | \`${i.name}\` | removed${i.batch ? ` (batch \`${i.batch}\`)` : ""} |`);
  for (const i of s.changed) {
    const shown = i.changes
      .slice(0, MAX_CHANGES_SHOWN)
      .map((ch) => `\`${ch.replace(/`/g, "'").replace(/\|/g, "\\|")}\``);
    if (i.changes.length > MAX_CHANGES_SHOWN) shown.push(`… and ${i.changes.length - MAX_CHANGES_SHOWN} more`);
    rows.push(`| ✏️ | \`${i.name}\` | ${shown.join("<br>")}${i.batch ? `<br>(batch \`${i.batch}\`)` : ""} |`);
  }
  const out = [`#### ${s.site}`];
  if (s.siteArtifactsChanged)
    out.push("", "_site.json changes: data connections, shared scripts, integrations or branch names._");
  if (rows.length) out.push("", "| | instance | member-level changes |", "|---|---|---|", ...rows);
  if (s.stale.length)
    out.push(
      "",
      `Stale after this deploy (deployed at an older revision): ${s.stale.map((x) => `\`${x}\``).join(", ")}`,
    );
  if (s.unreleased.length) out.push("", `Not released yet: ${s.unreleased.map((x) => `\`${x}\``).join(", ")}`);
  return out;
}

/** The plan as the pull-request comment shows it. */
export function renderPlanMarkdown(p: Plan): string {
  const out = [PLAN_MARKER, `### ScadaLink plan for \`${short(p.commit)}\``, ""];
  if (!p.ok) {
    out.push(`❌ **${n(p.errorCount, "error")}: this commit would release nothing.**`, "");
    for (const d of p.diagnostics.filter((x) => x.severity === "error").slice(0, 50)) {
      out.push(`- \`${d.file}:${d.line}:${d.column}\` ${d.message} (\`${d.rule}\`)`);
    }
  } else {
    out.push(`**${headline(p)}**, against deploy \`${short(p.against)}\`.`);
    for (const s of p.sites) {
      if (!hasNews(s)) continue;
      out.push("", ...siteMarkdown(s));
    }
    if (p.batches.length) {
      out.push("", "#### Batches", "", "| batch | phase | state | effect |", "|---|---|---|---|");
      for (const b of p.batches) out.push(`| \`${b.name}\` | ${b.phase} | ${b.state} | ${b.effect} |`);
    }
    if (p.warningCount) out.push("", `⚠️ ${n(p.warningCount, "warning")} (see the check run).`);
  }
  let text = `${out.join("\n")}\n`;
  if (text.length > MAX_COMMENT)
    text = `${text.slice(0, MAX_COMMENT)}\n\n… (truncated: run \`scadalink plan\` for the whole plan)\n`;
  return text;
}
