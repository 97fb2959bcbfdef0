import { describe, expect, it } from "vitest";
import { BASE } from "../helpers/base-repo.js";
import { compile, describeDiagnostics } from "../helpers/repo.js";

describe("the base fixture", () => {
  it("is valid, so each rule test changes exactly one thing", () => {
    const c = compile(BASE);
    expect(describeDiagnostics(c)).toBe("");
    expect(c.stats).toEqual({ documents: 8, templates: 3, instances: 1, sites: 1 });
  });
});
