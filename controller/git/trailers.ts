/** Commit messages of the deploy branch end with trailers: `Source-Commit: <sha>` and one `Batch: <name>` per release. */

export interface DeployTrailers {
  sourceCommit: string | undefined;
  batches: string[];
}

export function withTrailers(subject: string, body: string[], trailers: DeployTrailers): string {
  const lines = [subject, ""];
  if (body.length) lines.push(...body, "");
  if (trailers.sourceCommit) lines.push(`Source-Commit: ${trailers.sourceCommit}`);
  for (const b of trailers.batches) lines.push(`Batch: ${b}`);
  return `${lines.join("\n")}\n`;
}

/** Reads the trailers of the message's last paragraph. */
export function parseTrailers(message: string): DeployTrailers {
  const paragraphs = message.trimEnd().split(/\n\s*\n/);
  const last = paragraphs[paragraphs.length - 1] ?? "";
  const out: DeployTrailers = { sourceCommit: undefined, batches: [] };
  for (const line of last.split("\n")) {
    const m = /^([A-Za-z-]+):\s*(.+)$/.exec(line.trim());
    if (!m) continue;
    if (m[1] === "Source-Commit") out.sourceCommit = m[2];
    else if (m[1] === "Batch") out.batches.push(m[2]!);
  }
  return out;
}
