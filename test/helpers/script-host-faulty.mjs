// Script host stand-ins that misbehave as no real script should be able to make the real one do, for the pool's
// watchdog and respawn paths. The mode comes from the environment: "exit" dies at once, before saying ready;
// "silent" says ready and never answers a run.
const mode = process.env.SCADALINK_FAULTY_HOST;
if (mode === "exit") process.exit(3);
process.on("message", () => undefined);
process.send?.({ t: "ready" });
setInterval(() => undefined, 1_000);
