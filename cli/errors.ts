import { redactUrl } from "../controller/git/repo.js";

/**
 * One line for an error that ended a command: what went wrong and what to do. The failures an operator can fix
 * (the git server, credentials, the state directory's disk) are named as such; anything else is an internal
 * error to report. The stack trace follows only when asked for (--log-level debug).
 */
export function errorReport(e: unknown, debug: boolean): string {
  const line = `scadalink: ${oneLine(describe(e))}\n`;
  return debug && e instanceof Error && e.stack ? `${line}${redactUrl(e.stack)}\n` : line;
}

/** --log-level debug (or trace), on the command line or in SCADALINK_LOG_LEVEL. */
export function wantsDebug(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): boolean {
  let level = env.SCADALINK_LOG_LEVEL;
  argv.forEach((a, i) => {
    if (a === "--log-level") level = argv[i + 1];
    else if (a.startsWith("--log-level=")) level = a.slice("--log-level=".length);
  });
  return level === "debug" || level === "trace";
}

interface ErrorLike {
  message?: unknown;
  code?: unknown;
  errno?: unknown;
  path?: unknown;
  cause?: unknown;
  data?: { statusCode?: unknown; statusMessage?: unknown };
}

const NETWORK: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "name lookup failed",
  ETIMEDOUT: "timed out",
  ECONNRESET: "connection reset",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
};

const FILES: Record<string, string> = {
  EACCES: "permission denied: check who owns it and who runs scadalink",
  EPERM: "not permitted: check who owns it and who runs scadalink",
  ENOSPC: "the disk is full: free space, then run again",
  EROFS: "the file system is read-only",
  EDQUOT: "the disk quota is exhausted",
};

function describe(e: unknown): string {
  const err = (e ?? {}) as ErrorLike;
  // Each line goes on with what to do: the message's own final full stop would double it.
  const message = redactUrl(typeof err.message === "string" ? err.message : String(e)).replace(/\.$/, "");
  const code = typeof err.code === "string" ? err.code : undefined;
  // fetch (undici) wraps the socket error in cause.
  const cause = (err.cause ?? {}) as ErrorLike;
  const net = NETWORK[code ?? ""] ?? NETWORK[typeof cause.code === "string" ? cause.code : ""];
  if (net)
    return `cannot reach the git server (${net}): ${message}. Check the repository URL and that the server is up`;
  if (code === "HttpError") {
    const status = Number(err.data?.statusCode);
    if (status === 401 || status === 403)
      return `the git server refused the credentials (HTTP ${status}). Check the user and token in the repository URL (SCADALINK_REPO)`;
    if (status === 404)
      return "the git server has no repository at that URL (HTTP 404). Check --repo (a smart-HTTP URL such as https://host/org/repo.git)";
    return `the git server answered HTTP ${Number.isFinite(status) ? status : "error"}: ${message}. Check the server's logs, then run again`;
  }
  if (code === "SmartHttpError" || code === "RemoteCapabilityError" || code === "UnknownTransportError")
    return `the git server is not a smart-HTTP git server this tool can read: ${message}. Check the repository URL`;
  if (code === "NotFoundError")
    return `git: ${message}. A branch or object the config repo should have is missing: check the branch names (--main-branch, deployBranch in scadalink.yaml) and that the repository was pushed completely`;
  if (code && FILES[code]) return `cannot use ${typeof err.path === "string" ? err.path : "a file"}: ${FILES[code]}`;
  if (code?.startsWith("SQLITE_"))
    return `the state database failed (${code}): ${message}. Check the state directory's disk and that no other process holds it (docs/troubleshooting.md)`;
  return `internal error: ${message}. Run again with --log-level debug for the stack trace, and report it`;
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, " ").trim();
}
