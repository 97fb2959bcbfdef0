export interface ReceivedRequest {
  n: number;
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  key: string | null;
  body: unknown;
  at: number;
}

export interface Fault {
  status?: number;
  body?: string;
  headers?: Record<string, string>;
  delayMs?: number;
  /** Destroy the connection instead of answering. */
  reset?: boolean;
  /** Never answer. */
  hang?: boolean;
  /** Send the status and headers, then the body one byte per interval. */
  slowBody?: { chunks?: number; intervalMs?: number };
  /** Leave this request out of `requests`. */
  unrecorded?: boolean;
}

export interface FaultServer {
  port: number;
  url: string;
  requests: ReceivedRequest[];
  behave(fn: (r: ReceivedRequest) => Fault | undefined): void;
  stop(): Promise<void>;
  start(): Promise<void>;
  readonly up: boolean;
}

export declare const OK: () => Fault;
export declare function startFaultServer(opts?: { port?: number; record?: boolean }): Promise<FaultServer>;
