import type { Logger } from "pino";

export type OpcuaModule = typeof import("node-opcua-client");

let loaded: Promise<OpcuaModule> | undefined;
/** node-opcua's loggers are process-wide: they write to the runtime created last. */
let target: Logger | undefined;

/**
 * Loads node-opcua's client once per process. Its loggers print to stdout, some at import time, so they are routed
 * into the site's JSON log first (at debug: node-opcua warns about much that is expected, such as a restarted server).
 */
export function loadOpcua(log: Logger): Promise<OpcuaModule> {
  target = log.child({ component: "opcua" });
  loaded ??= (async () => {
    const debug = await import("node-opcua-debug");
    const line = (args: unknown[]) => args.map((a) => (typeof a === "string" ? a : String(a))).join(" ");
    debug.setDebugLogger((...a: unknown[]) => target?.trace(line(a)));
    debug.setWarningLogger((...a: unknown[]) => target?.debug(line(a)));
    debug.setErrorLogger((...a: unknown[]) => target?.debug(line(a)));
    return import("node-opcua-client");
  })();
  return loaded;
}
