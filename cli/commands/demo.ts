import { resolve } from "node:path";
import pino from "pino";
import { runDemo } from "../../demo/demo.js";
import { positive } from "../options.js";

export interface DemoCliOptions {
  duration?: string;
  dir?: string;
  pair?: boolean;
  logLevel: string;
}

/** `scadalink demo`: the whole system on loopback until Ctrl-C or --duration seconds. */
export async function demoCommand(o: DemoCliOptions): Promise<number> {
  const durationS = o.duration === undefined ? undefined : positive(o.duration, "--duration");
  // The narration and the table go to stdout; the components' JSON logs to stderr (errors only by default).
  const log = pino({ level: o.logLevel }, pino.destination({ dest: 2, sync: true }));
  let stop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  const onSignal = () => stop();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    return await runDemo({
      durationS,
      out: process.stdout,
      tty: !!process.stdout.isTTY,
      log,
      stopped,
      dir: o.dir ? resolve(o.dir) : undefined,
      // Only from the environment, never an argument: a password on a command line is visible to every user.
      password: process.env.SCADALINK_DEMO_PLC_PASSWORD || undefined,
      // The pair's nodes are processes of this same built CLI.
      pair: o.pair && process.argv[1] ? { script: process.argv[1] } : undefined,
    });
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
