// Bundles the CLI (from tsc's output in dist/) into a few files: Node 20 loads one large module far faster
// than the hundreds of small ones the CLI and its dependencies are made of. The compiler and watch mode stay
// separate chunks, so a cached `validate` never loads them.
import { defineConfig } from "rolldown";

export default defineConfig({
  // The script host is a process of its own (site-reconciler/runtime/scripts/pool.ts forks it from beside the
  // bundle), the controller's HTTP endpoints a worker thread (controller/http/server.ts starts it likewise).
  input: {
    scadalink: "dist/cli/bin.js",
    "script-host": "dist/site-reconciler/runtime/scripts/script-host.js",
    "http-worker": "dist/controller/http/http-worker.js",
  },
  platform: "node",
  // Native addons find their compiled binary relative to their own package; node-opcua loads its nodesets and
  // schemas from files beside its modules. Both stay in node_modules.
  external: ["better-sqlite3", /^node-opcua/],
  output: {
    dir: "dist/bundle",
    format: "esm",
    entryFileNames: "[name].js",
    chunkFileNames: "[name]-[hash].js",
  },
  logLevel: "warn",
});
