/** Serializes async work: git operations on one repository never interleave within a process. */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

const mutexes = new Map<string, Mutex>();

/** The mutex of a git directory (one per path, per process). */
export function mutexFor(gitdir: string): Mutex {
  let m = mutexes.get(gitdir);
  if (!m) mutexes.set(gitdir, (m = new Mutex()));
  return m;
}
