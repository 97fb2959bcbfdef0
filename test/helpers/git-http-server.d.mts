export declare const GIT_ENV: NodeJS.ProcessEnv;

export interface RequestLogEntry {
  method: string;
  path: string;
  status: number;
}

export interface GitHttpServer {
  /** http://127.0.0.1:PORT */
  url: string;
  root: string;
  port: number;
  /** `${url}/${name}.git` */
  repoUrl(name: string): string;
  /** Creates <root>/<name>.git (bare, default branch main, pushes allowed) and returns its path. */
  createBareRepo(name: string): Promise<string>;
  /** The requests answered since the last call. */
  drainLog(): RequestLogEntry[];
  /** Closes the server, its open connections and running CGI children, so clients see connection refused. */
  stop(): Promise<void>;
}

export declare function startGitHttpServer(opts: { root: string; port?: number }): Promise<GitHttpServer>;
