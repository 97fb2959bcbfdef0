import type { SiteArtifacts } from "../../../schemas/types.js";
import type { Caps, TargetConfig } from "./types.js";

/**
 * The engine's targets and caps from an applied site.json: every ExternalSystem, NotificationList and
 * DatabaseConnection it lists (defaults are filled in by the compiler), and Site.storeAndForward. A site.json
 * without integrations gives no targets: their messages are held, never parked (see the engine).
 */
export function targetsFromArtifacts(a: SiteArtifacts | null): { targets: TargetConfig[]; caps: Partial<Caps> } {
  const targets: TargetConfig[] = [];
  for (const s of a?.externalSystems ?? [])
    targets.push({
      kind: "externalSystem",
      name: s.name,
      retry: s.retry,
      timeoutMs: s.timeoutMs,
      auth: s.auth,
      document: s,
    });
  for (const l of a?.notificationLists ?? [])
    targets.push({ kind: "notificationList", name: l.name, retry: l.retry, timeoutMs: l.smtp.timeoutMs, document: l });
  for (const d of a?.databaseConnections ?? [])
    targets.push({ kind: "databaseConnection", name: d.name, retry: d.retry, timeoutMs: d.timeoutMs, document: d });
  const caps: Partial<Caps> = a?.storeAndForward
    ? { maxMessages: a.storeAndForward.maxMessages, maxBytes: a.storeAndForward.maxBytes }
    : {};
  return { targets, caps };
}
