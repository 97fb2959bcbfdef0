import type { Logger } from "pino";

export type OpcuaModule = typeof import("node-opcua-client");

let loaded: Promise<OpcuaModule> | undefined;

/**
 * Loads node-opcua's client once per process. Its loggers print to stdout, some at import time, so they are routed
 * into the site's JSON log first (at debug: node-opcua warns about much that is expected, such as a restarted server).
 */
export function loadOpcua(log: Logger): Promise<OpcuaModule> {
  loaded ??= (async () => {
    const debug = await import("node-opcua-debug");
    const opcuaLog = log.child({ component: "opcua" });
    const line = (args: unknown[]) => args.map((a) => (typeof a === "string" ? a : String(a))).join(" ");
    debug.setDebugLogger((...a: unknown[]) => opcuaLog.trace(line(a)));
    debug.setWarningLogger((...a: unknown[]) => opcuaLog.debug(line(a)));
    debug.setErrorLogger((...a: unknown[]) => opcuaLog.debug(line(a)));
    return import("node-opcua-client");
  })();
  return loaded;
}
