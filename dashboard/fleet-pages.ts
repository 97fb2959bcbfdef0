import type { Logger } from "pino";
import type { InstancePages } from "./instance.js";
import { type FleetView, fleetView } from "./model.js";
import { batchBody, fleetBody, instanceBody, notFoundBody, siteBody } from "./render.js";
import type { Pages } from "./server.js";
import type { readFleet } from "./source.js";

/** The fleet's pages (SPEC 11), from the deploy and status branches: fleet, site and batch pages live; instances on request. */
export function fleetPages(o: {
  read: (now: number) => ReturnType<typeof readFleet>;
  instances?: InstancePages;
  log: Logger;
}): Pages {
  let view: FleetView | undefined;
  let viewText = "";
  let lastError: string | null = null;
  return {
    async refresh(now) {
      try {
        const { inputs } = await o.read(now);
        const next = fleetView(inputs);
        const text = JSON.stringify(next);
        lastError = null;
        if (text === viewText) return false;
        view = next;
        viewText = text;
        return true;
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        if (why !== lastError) o.log.warn({ err: why }, "dashboard: branches not read");
        lastError = why;
        return false;
      }
    },
    ready: () => view !== undefined,
    body(path) {
      if (!view) return undefined;
      if (path === "/") return fleetBody(view);
      const site = /^\/sites\/([^/]+)$/.exec(path);
      if (site) return siteBody(view, decodeURIComponent(site[1]!));
      const batch = /^\/batches\/([^/]+)$/.exec(path);
      if (batch) return batchBody(view, decodeURIComponent(batch[1]!));
      return undefined;
    },
    title: (path) => (path === "/" ? "Fleet" : decodeURIComponent(path.split("/").at(-1) ?? "")),
    page(path, query) {
      const inst = /^\/instances\/([^/]+)\/([^/]+)$/.exec(path);
      if (!inst || !o.instances) return undefined;
      const [site, name] = [decodeURIComponent(inst[1]!), decodeURIComponent(inst[2]!)];
      const range = { from: query.get("from") ?? undefined, to: query.get("to") ?? undefined };
      return o.instances.detail(site, name, range).then((d) =>
        d
          ? { status: 200, title: `${site}/${name}`, body: instanceBody(d) }
          : {
              status: 404,
              title: "Not found",
              body: notFoundBody(`no instance ${site}/${name} on the deploy branch`),
            },
      );
    },
    json: (path) => (path === "/api/fleet" ? viewText : undefined),
  };
}
