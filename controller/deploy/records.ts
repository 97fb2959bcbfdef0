import type { ExecutionRecord, SiteStatus } from "../../schemas/types.js";
import { validatorFor } from "../contract/schemas.js";
import type { Repo } from "../git/repo.js";
import type { Records } from "./batches.js";

/** What one site reports on its status branch (section 6.5). */
export interface SiteReport {
  site: string;
  head: string;
  status: SiteStatus | undefined;
  /** batch → instance → record */
  records: Map<string, Map<string, ExecutionRecord>>;
}

/**
 * Reads the sites' status branches (`<prefix><site>`): status.json and batches/<batch>/<instance>.json. A document
 * that does not match its schema is ignored, never trusted. Parsed documents are cached by blob id.
 */
export class StatusReader {
  private readonly parsed = new Map<string, unknown>();

  constructor(private readonly repo: Repo) {}

  async read(prefix: string): Promise<Map<string, SiteReport>> {
    const out = new Map<string, SiteReport>();
    for (const [branch, head] of await this.repo.branches(prefix)) {
      const site = branch.slice(prefix.length);
      if (!site || site.includes("/")) continue;
      const { tree } = await this.repo.readCommit(head);
      const { files } = await this.repo.listFiles(tree);
      const report: SiteReport = { site, head, status: undefined, records: new Map() };
      const status = files.get("status.json");
      if (status) report.status = (await this.doc(status.oid, "site-status.schema.json")) as SiteStatus | undefined;
      for (const f of files.values()) {
        const m = /^batches\/([^/]+)\/([^/]+)\.json$/.exec(f.path);
        if (!m) continue;
        const record = (await this.doc(f.oid, "execution-record.schema.json")) as ExecutionRecord | undefined;
        if (!record || record.batch !== m[1] || record.instance !== m[2] || record.site !== site) continue;
        let batch = report.records.get(m[1]!);
        if (!batch) report.records.set(m[1]!, (batch = new Map()));
        batch.set(m[2]!, record);
      }
      out.set(site, report);
    }
    return out;
  }

  private async doc(oid: string, schema: string): Promise<unknown> {
    if (this.parsed.has(oid)) return this.parsed.get(oid);
    let value: unknown;
    try {
      const data = JSON.parse(await this.repo.readText(oid));
      value = validatorFor(schema)(data) ? data : undefined;
    } catch {
      value = undefined;
    }
    this.parsed.set(oid, value);
    return value;
  }
}

/** The execution records of every site, as batch status needs them. */
export function recordsOf(reports: ReadonlyMap<string, SiteReport>): Records {
  return new Map([...reports].map(([site, r]) => [site, r.records]));
}
