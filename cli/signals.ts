import type { Logger } from "pino";

/** Waits for SIGINT or SIGTERM, then lets the work under way finish (stop) before resolving. */
export function stopOnSignal(log: Logger, what: string, stop: () => Promise<void>): Promise<void> {
  return new Promise<void>((done) => {
    const on = (signal: string) => {
      log.info({ signal }, `stopping: finishing the ${what} under way`);
      void stop().then(done);
    };
    process.once("SIGINT", () => on("SIGINT"));
    process.once("SIGTERM", () => on("SIGTERM"));
  });
}
