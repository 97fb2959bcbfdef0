import type { EvidenceItem } from "../types.js";
import type {
  DesiredRuntime,
  InstanceOutcome,
  Runtime,
  RuntimeReport,
  ScriptCaller,
  ScriptCallResult,
  SecretLookup,
} from "./runtime.js";

interface Loaded {
  revisionHash: string;
  running: boolean;
  outcome: InstanceOutcome;
}

/**
 * The first runtime: it holds the applied packages and their lifecycle state (enabled → running, disabled →
 * stopped, removed → gone) and checks what it can without talking to devices: every data connection an enabled
 * instance uses exists in site.json, and the secret it names is provided on the site.
 */
export class PackageRuntime implements Runtime, ScriptCaller {
  private readonly instances = new Map<string, Loaded>();
  private lastDesired: DesiredRuntime | undefined;

  constructor(private readonly secrets: SecretLookup) {}

  async converge(desired: DesiredRuntime): Promise<RuntimeReport> {
    this.lastDesired = desired;
    for (const name of this.instances.keys()) if (!desired.instances.has(name)) this.instances.delete(name);
    const connections = new Map((desired.artifacts?.dataConnections ?? []).map((c) => [c.name, c]));
    const blocked = new Map<string, string>();
    for (const c of connections.values()) {
      const secret = c.auth.type === "username" ? c.auth.passwordSecret : undefined;
      if (secret && this.secrets(secret) === undefined)
        blocked.set(c.name, `the secret ${secret} of connection ${c.name} is not provided on this site`);
    }
    const report: RuntimeReport = {
      instances: new Map(),
      connections: [...connections.keys()].map((name) => ({
        name,
        state: blocked.has(name) ? "blocked" : "disconnected",
        error: blocked.get(name) ?? null,
      })),
      tags: { resolved: 0, unresolved: 0, bad: 0 },
    };
    for (const [name, d] of desired.instances) {
      const running = d.state === "enabled";
      let outcome: InstanceOutcome = { result: "pass", message: null };
      if (running) {
        const used = new Set(d.package.attributes.flatMap((a) => (a.connection ? [a.connection] : [])));
        const missing = [...used].filter((c) => !connections.has(c));
        const locked = [...used].flatMap((c) => (blocked.has(c) ? [blocked.get(c)!] : []));
        if (missing.length)
          outcome = { result: "local-runtime-blocked", message: `unknown data connection ${missing.join(", ")}` };
        else if (locked.length) outcome = { result: "login-blocked", message: locked.join("; ") };
      }
      this.instances.set(name, { revisionHash: d.revisionHash, running, outcome });
      report.instances.set(name, outcome);
    }
    return report;
  }

  loaded(): ReadonlyMap<string, { revisionHash: string; running: boolean }> {
    return new Map([...this.instances].map(([n, l]) => [n, { revisionHash: l.revisionHash, running: l.running }]));
  }

  async evidence(instance: string, item: EvidenceItem): Promise<unknown> {
    const d = this.lastDesired?.instances.get(instance);
    const l = this.instances.get(instance);
    switch (item) {
      case "values-snapshot":
        // Without device connections only configured values are known; data attributes have none yet.
        return {
          instance,
          revisionHash: l?.revisionHash ?? null,
          attributes: (d?.package.attributes ?? []).map((a) => ({
            path: a.path,
            value: a.source === "static" ? a.value : null,
            quality: a.source === "static" ? "good" : "bad",
          })),
        };
      case "alarm-states":
        return { instance, alarms: (d?.package.alarms ?? []).map((a) => ({ path: a.path, active: false })) };
      case "connection-health":
        return { instance, running: l?.running ?? false, outcome: l?.outcome ?? null };
      case "event-log":
        return { instance, events: [] };
    }
  }

  /** No scripts run here: an inbound API call is answered 503, saying so. */
  async callScript(instance: string): Promise<ScriptCallResult> {
    return {
      status: "unavailable",
      message: `this site runs no scripts (--runtime none): the instance ${instance} cannot answer`,
    };
  }

  async close(): Promise<void> {
    this.instances.clear();
  }
}
