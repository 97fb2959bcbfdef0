// Preloaded with `node --import` into a process under test: on exit, writes its peak RSS (KiB, from getrusage)
// to the file named by SCADALINK_BENCH_RSS_FILE. Nothing else changes in the process.
import { writeFileSync } from "node:fs";

const file = process.env.SCADALINK_BENCH_RSS_FILE;
if (file) process.on("exit", () => writeFileSync(file, String(process.resourceUsage().maxRSS)));
