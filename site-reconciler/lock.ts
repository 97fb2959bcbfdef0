import { closeSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export class StateDirLockedError extends Error {}

/** Lock files this process holds: a second reconciler in the same process is refused too. */
const held = new Set<string>();

/** true when a process with that pid runs (EPERM: it runs under another user). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * One reconciler per state directory: reconciler.lock holds the owner's pid. A lock whose process is gone (killed,
 * crashed) is taken over; a live owner makes the second reconciler stop with a clear message.
 */
export function acquireLock(stateDir: string): { file: string; release(): void } {
  const file = join(stateDir, "reconciler.lock");
  const mine = `${process.pid}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, "wx");
      writeFileSync(fd, mine);
      closeSync(fd);
      return taken(file, mine);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const owner = Number.parseInt(readText(file), 10);
    const ours = owner === process.pid;
    if (Number.isInteger(owner) && owner > 0 && (ours ? held.has(file) : alive(owner)))
      throw new StateDirLockedError(
        `another site reconciler (pid ${owner}) is using the state directory ${stateDir}; stop it first (lock file ${file})`,
      );
    // Stale: replace it atomically, then check that no other starter replaced it at the same moment.
    const tmp = `${file}.${process.pid}`;
    writeFileSync(tmp, mine);
    renameSync(tmp, file);
    if (readText(file) === mine) return taken(file, mine);
  }
  throw new StateDirLockedError(`cannot take the lock ${file}: another reconciler is starting`);
}

function readText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

function taken(file: string, mine: string): { file: string; release(): void } {
  held.add(file);
  return {
    file,
    release() {
      held.delete(file);
      if (readText(file) === mine) rmSync(file, { force: true });
    },
  };
}
