import type {
  ArtifactDatabaseConnection,
  ArtifactExternalSystem,
  ArtifactNotificationList,
  SiteArtifacts,
} from "../../../schemas/types.js";
import type { SecretLookup } from "../../runtime/runtime.js";
import type { IoReply, IoRequest } from "../../runtime/scripts/protocol.js";
import type { PostgresConnections } from "../database/index.js";
import type { StoreAndForward } from "../store-and-forward/index.js";
import { CallError, callExternal } from "./call-http.js";
import { httpRequestOf } from "./http-request.js";

export interface ScriptIntegrationsOptions {
  secrets: SecretLookup;
  /** The site's store-and-forward engine: cachedCall, notify and cachedWrite commit to it before they return. */
  saf?: StoreAndForward;
  /** The site's PostgreSQL pools (shared with the cachedWrite deliverer). */
  database?: PostgresConnections;
  now?: () => number;
}

/** Labels are what listings and ParkedMessages `match.method` see: the method, the subject, the SQL's first words. */
const LABEL_CHARS = 80;

/**
 * The site's half of the script API of SPEC 8.2: a script host sends each call here (see scripts/pool.ts) and
 * blocks the script until the answer comes or its timeout ends. Definitions come from the applied site.json; a
 * name it does not define is the script's error (validate reports literal ones before they reach a site).
 */
export class ScriptIntegrations {
  #systems = new Map<string, ArtifactExternalSystem>();
  #lists = new Map<string, ArtifactNotificationList>();
  #databases = new Map<string, ArtifactDatabaseConnection>();
  readonly #o: ScriptIntegrationsOptions;
  readonly #now: () => number;

  constructor(o: ScriptIntegrationsOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
  }

  configure(a: SiteArtifacts | null): void {
    this.#systems = new Map((a?.externalSystems ?? []).map((s) => [s.name, s]));
    this.#lists = new Map((a?.notificationLists ?? []).map((l) => [l.name, l]));
    this.#databases = new Map((a?.databaseConnections ?? []).map((d) => [d.name, d]));
  }

  /** Answers one call; never throws. */
  async handle(r: IoRequest): Promise<IoReply> {
    try {
      return { v: await this.#handle(r) };
    } catch (e) {
      return { e: e instanceof Error ? e.message : String(e), status: e instanceof CallError ? e.status : null };
    }
  }

  async #handle(r: IoRequest): Promise<unknown> {
    switch (r.op) {
      case "call":
      case "cachedCall": {
        const system = this.#systems.get(r.target);
        if (!system) throw new Error(`externalSystem.${r.op}: no external system "${r.target}" on this site`);
        const method = system.methods.find((m) => m.name === r.name);
        if (!method) throw new Error(`externalSystem.${r.op}: ${system.name} has no method "${r.name}"`);
        const req = httpRequestOf(system, method, r.args);
        if (r.op === "call") return callExternal(system, req, { secrets: this.#o.secrets, deadline: r.deadline });
        return this.#enqueue(r, "externalSystem", method.name, req);
      }
      case "notify": {
        if (!this.#lists.has(r.target)) throw new Error(`notify: no notification list "${r.target}" on this site`);
        const [body] = r.args;
        if (typeof body !== "string") throw new Error("notify: the body must be a string");
        return this.#enqueue(r, "notificationList", r.name, { subject: r.name, body });
      }
      case "query": {
        const db = this.#database(r);
        const database = this.#o.database;
        if (!database) throw new Error("database.query: the site has no database support");
        const left = r.deadline - this.#now();
        if (left <= 0) throw new Error(`database ${db.name}: no time left in the script's timeout`);
        const ac = new AbortController();
        const timer = setTimeout(() => ac.abort(), left);
        try {
          const res = await database.run(db, r.name, r.args, ac.signal);
          if (res.ok) return res.result.rows;
          throw new Error(ac.signal.aborted ? `database ${db.name}: timed out` : `database ${db.name}: ${res.error}`);
        } finally {
          clearTimeout(timer);
        }
      }
      case "cachedWrite": {
        this.#database(r);
        return this.#enqueue(r, "databaseConnection", r.name, { sql: r.name, params: r.args });
      }
    }
  }

  #database(r: IoRequest): ArtifactDatabaseConnection {
    const db = this.#databases.get(r.target);
    if (!db) throw new Error(`database.${r.op}: no database connection "${r.target}" on this site`);
    if (typeof r.name !== "string" || r.name.trim() === "")
      throw new Error(`database.${r.op}: the SQL must be a string`);
    return db;
  }

  /** Committed to the store before this resolves (the engine's group commit): the script gets the message id. */
  #enqueue(
    r: IoRequest,
    kind: "externalSystem" | "notificationList" | "databaseConnection",
    label: string,
    payload: unknown,
  ): Promise<string> {
    const saf = this.#o.saf;
    if (!saf) throw new Error(`${r.op}: the site has no store-and-forward`);
    const words = label.replace(/\s+/g, " ").trim();
    return saf.submit({
      target: { kind, name: r.target },
      label: words.length > LABEL_CHARS ? `${words.slice(0, LABEL_CHARS)}…` : words,
      instance: r.instance,
      payload,
    });
  }
}
