import type { DeploymentPackage } from "../../schemas/types.js";
import { compareDiagnostics, countBySeverity, type Diagnostic, Report } from "./diagnostics.js";
import { type ResolvedInstance, resolveInstance } from "./flatten/instance.js";
import { type FlatTemplate, type FlattenCache, TemplateFlattener } from "./flatten/template.js";
import { analyzeFile, type FileAnalysis } from "./load/analyze-file.js";
import type { InstanceDecl, SiteInfo } from "./model.js";
import { buildPackage } from "./package/build.js";
import { buildIndex, type RepoIndex } from "./repo-index.js";
import { checkBatches } from "./rules/batches.js";
import { checkIntegrations } from "./rules/integrations.js";
import { type SharedState, sharedScripts } from "./rules/shared-scripts.js";
import { checkTemplateGraph } from "./rules/template-graph.js";
import { checkUnusedTemplates } from "./rules/unused.js";

export interface SourceFile {
  /** Relative to the repo root, '/'-separated. */
  path: string;
  text: string;
}

export interface CompileOptions {
  /** Instance ids on the deploy branch: a batch selecting one of them that no longer exists releases its deletion. */
  deployed?: ReadonlySet<string>;
  /** The selection each released batch was released with (deploy branch): changing one is batch-immutable. */
  released?: ReadonlyMap<string, unknown>;
}

export interface Stats {
  documents: number;
  templates: number;
  instances: number;
  sites: number;
}

/** The result of compiling the repo: diagnostics, and (when there is no error) the packages on demand. */
export interface Compilation {
  diagnostics: Diagnostic[];
  errorCount: number;
  warningCount: number;
  stats: Stats;
  index: RepoIndex;
  /** The flattened template, if it flattens. */
  template(name: string): FlatTemplate | undefined;
  /** Fully resolves an instance (expanded tags, every member) for packaging or --explain. */
  resolve(id: string): ResolvedInstance | undefined;
  /** Packages of the given instance ids (default: all), sorted by id. */
  packages(ids?: Iterable<string>): DeploymentPackage[];
  shared: SharedState;
}

interface InstanceEntry {
  flat: FlatTemplate | undefined;
  site: SiteInfo | undefined;
  /** What the checks learn from the index besides flat and site: do the template and site exist, or are they broken documents? */
  refs: string;
  diagnostics: Diagnostic[];
}

/**
 * Compiles a config repo: load → validate → flatten → package. Keeps what it learned between compiles:
 * an unchanged file is not re-parsed, an unchanged template not re-flattened, an instance whose document,
 * template and site did not change not re-checked. The result always equals a cold compile.
 */
export class Compiler {
  private readonly files = new Map<string, FileAnalysis>();
  private readonly flattenCache: FlattenCache = new Map();
  private readonly instanceCache = new WeakMap<InstanceDecl, InstanceEntry>();
  /** A package stays valid while its declaration, template, site and shared scripts are the same objects. */
  private readonly packageCache = new WeakMap<
    InstanceDecl,
    { flat: FlatTemplate; site: SiteInfo; shared: object; pkg: DeploymentPackage }
  >();
  private shared: SharedState | undefined;

  /** Sets a file's text; returns true when it changed. */
  setFile(path: string, text: string): boolean {
    const current = this.files.get(path);
    if (current && current.text === text) return false;
    this.files.set(path, analyzeFile(path, text));
    return true;
  }

  deleteFile(path: string): boolean {
    return this.files.delete(path);
  }

  /** Replaces the whole set of files. */
  setFiles(files: Iterable<SourceFile>): void {
    const keep = new Set<string>();
    for (const f of files) {
      keep.add(f.path);
      this.setFile(f.path, f.text);
    }
    for (const path of [...this.files.keys()]) if (!keep.has(path)) this.files.delete(path);
  }

  paths(): string[] {
    return [...this.files.keys()].sort();
  }

  compile(options: CompileOptions = {}): Compilation {
    const files = [...this.files.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const report = new Report();
    for (const f of files) report.items.push(...f.report.items);

    const index = buildIndex(files, report);
    const shared = (this.shared = sharedScripts(index, this.shared));
    report.items.push(...shared.diagnostics);
    const cyclic = checkTemplateGraph(index, report);
    const templates = new TemplateFlattener(index, cyclic, shared.registry, this.flattenCache, report);
    for (const name of index.templates.keys()) templates.get(name);
    for (const name of [...this.flattenCache.keys()]) if (!index.templates.has(name)) this.flattenCache.delete(name);

    const ctx = { index, templates, shared: shared.registry };
    for (const decl of index.instances.values()) {
      const flat = templates.get(decl.template);
      const site = index.sites.get(decl.site);
      const g = index.ghosts;
      const refs = `${index.templates.has(decl.template)}:${g.has("Template", decl.template)}:${g.has("Site", decl.site)}`;
      let entry = this.instanceCache.get(decl);
      if (!entry || entry.flat !== flat || entry.site !== site || entry.refs !== refs) {
        const r = new Report();
        resolveInstance(decl, ctx, r, false);
        entry = { flat, site, refs, diagnostics: r.items };
        this.instanceCache.set(decl, entry);
      }
      report.items.push(...entry.diagnostics);
    }
    const chainOf = (t: string) => templates.get(t)?.chain ?? [t];
    checkBatches(index, chainOf, report, options.deployed, options.released);
    checkUnusedTemplates(index, report);
    checkIntegrations(index, (name) => templates.get(name), report);

    const diagnostics = report.items.sort(compareDiagnostics);
    const { errors, warnings } = countBySeverity(diagnostics);
    const resolve = (id: string) => {
      const decl = index.instances.get(id);
      return decl ? resolveInstance(decl, ctx, new Report(), true) : undefined;
    };
    return {
      diagnostics,
      errorCount: errors,
      warningCount: warnings,
      stats: {
        documents: index.documents,
        templates: index.templates.size,
        instances: index.instances.size,
        sites: index.sites.size,
      },
      index,
      template: (name) => templates.get(name),
      resolve,
      packages: (ids?: Iterable<string>) => {
        const wanted = ids ? [...ids] : [...index.instances.keys()];
        const out: DeploymentPackage[] = [];
        for (const id of wanted.sort()) {
          const decl = index.instances.get(id);
          if (!decl) continue;
          const hit = this.packageCache.get(decl);
          const flat = templates.get(decl.template);
          const site = index.sites.get(decl.site);
          if (hit && hit.flat === flat && hit.site === site && hit.shared === shared.registry.version) {
            out.push(hit.pkg);
            continue;
          }
          const r = resolve(id);
          if (!r) continue;
          const pkg = buildPackage(r, shared.registry);
          this.packageCache.set(decl, { flat: r.flat, site: r.site, shared: shared.registry.version, pkg });
          out.push(pkg);
        }
        return out;
      },
      shared,
    };
  }
}

/** One-shot compile of a set of files. */
export function compileFiles(files: Iterable<SourceFile>, options?: CompileOptions): Compilation {
  const c = new Compiler();
  c.setFiles(files);
  return c.compile(options);
}
