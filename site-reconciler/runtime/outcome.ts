import type { InstanceRuntime } from "./instance/instance.js";
import type { OpcuaConnection } from "./opcua/connection.js";
import type { InstanceOutcome } from "./runtime.js";

const LIST = 5;

function list(items: string[]): string {
  return items.length > LIST ? `${items.slice(0, LIST).join("; ")}; and ${items.length - LIST} more` : items.join("; ");
}

/**
 * An instance's result state from what really happened (section 2.9's taxonomy), most fundamental cause first: a
 * script that cannot load or a connection site.json lacks (local-runtime-blocked), then the connection's own
 * failure (login, network, host bridge), then its tags: refused monitored items (host bridge), unknown tags, type
 * mismatches or bad quality once the settle time is over (data-mismatch).
 */
export function judge(i: {
  rt: InstanceRuntime;
  connection: (name: string) => OpcuaConnection | undefined;
  settled: boolean;
}): InstanceOutcome {
  const { rt } = i;
  const missing = [...rt.connections].filter((c) => !i.connection(c));
  if (missing.length)
    return { result: "local-runtime-blocked", message: `unknown data connection ${missing.join(", ")}` };
  if (rt.loadErrors.length)
    return {
      result: "local-runtime-blocked",
      message: `script not loaded: ${list(rt.loadErrors.map((e) => `${e.script}: ${e.message}`))}`,
    };
  const quarantined = [...rt.quarantined()];
  if (quarantined.length)
    return {
      result: "local-runtime-blocked",
      message: `script quarantined: ${list(quarantined.map(([path, why]) => `${path}: ${why}`))}`,
    };
  for (const kind of ["login", "network", "host-bridge"] as const)
    for (const name of rt.connections) {
      const c = i.connection(name)!;
      if (c.failure === kind) return { result: `${kind}-blocked`, message: `${name}: ${c.error}` };
    }
  const down = [...rt.connections].map((n) => i.connection(n)!).filter((c) => c.state !== "connected");
  if (down.length && i.settled)
    return {
      result: "network-blocked",
      message: list(down.map((c) => `${c.name} ${c.state}${c.error ? `: ${c.error}` : ""}`)),
    };
  const refused: string[] = [];
  const unresolved: string[] = [];
  const mismatched: string[] = [];
  const bad: string[] = [];
  for (const a of rt.attrs.values()) {
    if (a.def.source !== "data") continue;
    if (a.status === "refused") refused.push(a.message ?? a.def.path);
    else if (a.status === "unresolved") unresolved.push(`${a.def.path} (${a.message})`);
    else if (a.status === "mismatch") mismatched.push(`${a.def.path} (${a.message})`);
    else if (i.settled && a.quality === "bad") bad.push(`${a.def.path}: ${a.message ?? "bad quality"}`);
  }
  if (refused.length) return { result: "host-bridge-blocked", message: list(refused) };
  const data = [
    ...(unresolved.length ? [`${unresolved.length} tag(s) not found: ${list(unresolved)}`] : []),
    ...(mismatched.length ? [`${mismatched.length} type mismatch(es): ${list(mismatched)}`] : []),
    ...(bad.length ? [`${bad.length} bad quality: ${list(bad)}`] : []),
  ];
  if (data.length) return { result: "data-mismatch", message: data.join(" | ") };
  return { result: "pass", message: null };
}
