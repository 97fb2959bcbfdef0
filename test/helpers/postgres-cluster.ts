// A throwaway PostgreSQL cluster for tests: initdb into a temp dir, pg_ctl start on a free loopback port, a Unix
// socket in that dir too (never the system's), scram-sha-256 for every connection. Debian's postgresql package
// keeps initdb and pg_ctl out of PATH (/usr/lib/postgresql/<v>/bin), so they are looked for there as well.
// fsync is off (the data survives a killed server, not a power cut). initdb refuses to run as root: as root, the cluster belongs to the postgres user and its commands run as it.
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

/** The directory holding initdb and pg_ctl, or null when PostgreSQL is not installed. */
export function findPostgresBin(): string | null {
  const dirs = [
    ...(process.env.PATH ?? "").split(":").filter(Boolean),
    "/usr/local/bin",
    ...versions("/usr/lib/postgresql").map((v) => `/usr/lib/postgresql/${v}/bin`),
  ];
  for (const d of dirs) if (existsSync(join(d, "initdb")) && existsSync(join(d, "pg_ctl"))) return d;
  return null;
}

function versions(root: string): string[] {
  try {
    return readdirSync(root)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
  } catch {
    return [];
  }
}

export interface PostgresCluster {
  host: "127.0.0.1";
  port: number;
  /** The superuser and its password. */
  user: string;
  password: string;
  /** A pg client as the superuser (for setup and checks), connected on demand. */
  admin(database?: string): Promise<pg.Client>;
  /** Runs statements as the superuser on a connection of its own. */
  sql(text: string, params?: unknown[], database?: string): Promise<pg.QueryResult>;
  start(): void;
  /** pg_ctl stop; immediate: no shutdown checkpoint, every connection cut at once (a crash, to the clients). */
  stop(mode?: "fast" | "immediate"): void;
  destroy(): Promise<void>;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

export async function startPostgresCluster(): Promise<PostgresCluster> {
  const bin = findPostgresBin();
  if (!bin) throw new Error("PostgreSQL not found (Debian package postgresql; .ci/run installs it)");
  const dir = mkdtempSync(join(tmpdir(), "scadalink-pg-"));
  const data = join(dir, "data");
  const pwfile = join(dir, "pw");
  const user = "admin";
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  writeFileSync(pwfile, `${password}\n`);
  let asUser: string[] = [];
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    chownSync(dir, uid, gid);
    chownSync(pwfile, uid, gid);
    chmodSync(dir, 0o700);
    asUser = ["runuser", "-u", "postgres", "--"];
  }
  const run = (cmd: string, args: string[]) => {
    const argv = [...asUser, join(bin, cmd), ...args];
    const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", cwd: dir });
    if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr || r.stdout}`);
  };
  run("initdb", ["-D", data, "-U", user, "-A", "scram-sha-256", `--pwfile=${pwfile}`, "-E", "UTF8", "--no-sync"]);
  const port = await freePort();
  const options = `-p ${port} -h 127.0.0.1 -k ${dir} -c fsync=off`;
  const start = () => run("pg_ctl", ["-D", data, "-l", join(dir, "log"), "-o", options, "-w", "-t", "30", "start"]);
  const stop = (mode: "fast" | "immediate" = "fast") => run("pg_ctl", ["-D", data, "-m", mode, "-w", "stop"]);
  start();
  const admin = async (database = "postgres") => {
    const c = new pg.Client({ host: "127.0.0.1", port, user, password, database });
    await c.connect();
    return c;
  };
  let up = true;
  return {
    host: "127.0.0.1",
    port,
    user,
    password,
    admin,
    async sql(text, params, database) {
      const c = await admin(database);
      try {
        return await c.query(text, params);
      } finally {
        await c.end();
      }
    },
    start() {
      start();
      up = true;
    },
    stop(mode) {
      stop(mode);
      up = false;
    },
    async destroy() {
      if (up) stop("immediate");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
