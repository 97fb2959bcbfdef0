// Synthetic, deterministic config repo shaped like a real plant, for the benchmarks in bench/run.mjs.
// Usage: node bench/generate.mjs DIR [--sites 10] [--instances 500] [--tags 75] [--seed 1] [--no-check]
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

// mulberry32: tiny seeded PRNG, so the same options always give byte-identical repos.
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Data attributes fixed by the hierarchy; leaf templates add fillers to reach exactly tagsPerInstance.
const VALVE_DATA = [
  ["Position", "Double", "%"],
  ["Command", "Double", "%", "readWrite"],
  ["Torque", "Double", "%"],
  ["Fault", "Boolean"],
  ["OpenLimit", "Boolean"],
];
const EQUIPMENT_DATA = [
  ["Running", "Boolean"],
  ["Fault", "Boolean"],
  ["RunHours", "Double", "h"],
  ["Starts", "Int32"],
  ["LocalMode", "Boolean"],
  ["CommsOk", "Boolean"],
];
const MOTOR_DATA = [
  ["Speed", "Double", "rpm"],
  ["Current", "Double", "A"],
  ["SpeedSetpoint", "Double", "rpm", "readWrite"],
  ["Power", "Double", "kW"],
  ["WindingTemp", "Double", "degC"],
  ["BearingTempDE", "Double", "degC"],
  ["BearingTempNDE", "Double", "degC"],
  ["Vibration", "Double", "mm/s"],
];
// Filler signals of a leaf template: numbered like the I/O list of a real skid.
const FILLERS = [
  ["Pressure", "Double", "bar"],
  ["Temperature", "Double", "degC"],
  ["Level", "Double", "m"],
  ["Status", "Boolean"],
  ["Flow", "Double", "m3/h"],
  ["Counter", "Int32"],
  ["Vibration", "Double", "mm/s"],
  ["Interlock", "Boolean"],
];

// Leaf templates (third level of extends). Each names its own fixed signals and its valve modules.
const LEAVES = [
  {
    name: "Pump",
    prefix: "P",
    description: "Centrifugal pump with motorised inlet and outlet valves.",
    modules: ["Inlet", "Outlet"],
    own: [
      ["Flow", "Double", "m3/h"],
      ["DischargePressure", "Double", "bar"],
      ["SealLeak", "Boolean"],
    ],
    alarms: `  - name: PressureOutOfRange
    trigger: { type: range, attribute: DischargePressure, low: 1.5, high: 7.5 }
    priority: 600
  - name: LowFlow
    trigger: { type: threshold, attribute: Flow, op: "<", value: 20 }
    priority: 500
    onTrigger: OnLowFlow
  - name: PressureSurge
    trigger: { type: rateOfChange, attribute: DischargePressure, perSecond: 0.5 }
    priority: 750
  - name: SealLeakDetected
    trigger: { type: match, attribute: SealLeak, value: true }
    priority: 700
`,
    scripts: `  - name: Efficiency
    trigger: { type: call }
    parameters: [{ name: flow, type: Double }]
    returns: Double
    code: return callShared("SafeDivide", flow, attributes.get("Current"), 0);
  - name: OnLowFlow
    trigger: { type: call }
    code: |
      const eff = callScript("Efficiency", attributes.get("Flow"));
      attributes.set("LastEfficiency", eff);
      log.warn(\`low flow at \${attributes.get("Speed")} rpm: \${eff.toFixed(2)} m3/h per A\`);
  - name: DryRunProtection
    trigger: { type: expression, expression: 'attributes.get("Running") && attributes.get("Flow") < 2' }
    code: log.error("running dry - flow below 2 m3/h while the pump runs");
`,
    statics: `  - name: LastEfficiency
    dataType: Double
    units: m3/h/A
    value: 0
`,
    overrides: `  RatedCurrent: { value: 45 }
  OverCurrent: { trigger: { value: 48 }, locked: true }
  Inlet.Travel: { value: 90, locked: true }
  Outlet.Slam: { priority: 650 }
`,
    alarmOverride: () => ({ LowFlow: "{ trigger: { value: 25 } }" }),
  },
  {
    name: "Blower",
    prefix: "B",
    description: "Aeration blower with an inlet damper.",
    modules: ["Damper"],
    own: [
      ["AirFlow", "Double", "Nm3/h"],
      ["OutletPressure", "Double", "mbar"],
      ["FilterDP", "Double", "mbar"],
    ],
    alarms: `  - name: FilterBlocked
    trigger: { type: threshold, attribute: FilterDP, op: ">", value: 25 }
    priority: 400
  - name: OutletPressureBand
    trigger: { type: range, attribute: OutletPressure, low: 300, high: 900 }
    priority: 600
  - name: Surge
    trigger: { type: rateOfChange, attribute: OutletPressure, perSecond: 50 }
    priority: 800
`,
    scripts: `  - name: TrackDamper
    trigger: { type: onChange, attribute: AirFlow }
    code: |
      const open = attributes.get("Damper.Position");
      attributes.set("SpecificFlow", callShared("SafeDivide", attributes.get("AirFlow"), open, 0));
  - name: FilterReport
    trigger: { type: interval, everyMs: 3600000 }
    code: log.info(\`filter dP \${attributes.get("FilterDP")} mbar\`);
`,
    statics: `  - name: SpecificFlow
    dataType: Double
    value: 0
`,
    overrides: `  RatedCurrent: { value: 120 }
  Damper.Travel: { value: 95 }
`,
    alarmOverride: () => ({ FilterBlocked: "{ priority: 450 }" }),
  },
  {
    name: "Agitator",
    prefix: "M",
    description: "Tank agitator with a drain valve.",
    modules: ["Drain"],
    own: [
      ["Torque", "Double", "%"],
      ["TankLevel", "Double", "m"],
      ["ShearPinBroken", "Boolean"],
    ],
    alarms: `  - name: ShearPin
    trigger: { type: match, attribute: ShearPinBroken, value: true }
    priority: 900
  - name: HighTorque
    trigger: { type: threshold, attribute: Torque, op: ">=", value: 95 }
    priority: 650
  - name: LevelBand
    trigger: { type: range, attribute: TankLevel, low: 0.5, high: 6 }
    priority: 500
`,
    scripts: `  - name: RunWhenCovered
    trigger: { type: expression, expression: 'attributes.get("TankLevel") < 0.5 && attributes.get("Running")' }
    code: log.warn("agitator running with the blades uncovered");
  - name: TorqueLog
    trigger: { type: onChange, attribute: Torque }
    code: if (attributes.get("Torque") > 80) log.info(\`torque \${attributes.get("Torque")} %\`);
`,
    statics: "",
    overrides: `  RatedCurrent: { value: 18 }
`,
    alarmOverride: () => ({ HighTorque: "{ trigger: { value: 90 }, priority: 700 }" }),
  },
];

const AREAS = [
  { name: "Intake" },
  { name: "Treatment", areas: ["Clarification", "Filtration", "Ozonation", "Disinfection"] },
  { name: "Chemicals" },
  { name: "TreatedWater", areas: ["ClearWell", "HighLift"] },
  { name: "Sludge" },
  { name: "Utilities" },
];
// Areas that hold equipment, in fill order; the parents (Treatment, TreatedWater) stay empty.
const LEAF_AREAS = AREAS.flatMap((a) => (a.areas ? a.areas.map((s) => `${a.name}/${s}`) : [a.name]));

const pad = (n, w) => String(n).padStart(w, "0");
const attr = ([name, dataType, units, access], tag) =>
  `  - name: ${name}
    dataType: ${dataType}
    source: data
${access ? `    access: ${access}\n` : ""}${units ? `    units: "${units}"\n` : ""}    tag: "${tag}"
`;
const pattern = (module) => `ns=2;s={{param.tagPrefix}}.{{instance}}.${module ? "{{module}}." : ""}{{attribute}}`;

/** Leaf fillers so that the flattened leaf has exactly `tags` data attributes. */
function fillerCount(leaf, tags) {
  return tags - EQUIPMENT_DATA.length - MOTOR_DATA.length - leaf.own.length - leaf.modules.length * VALVE_DATA.length;
}

function fillers(leaf, tags) {
  const out = [];
  const n = fillerCount(leaf, tags);
  for (let i = 0; i < n; i++) {
    const [base, type, units] = FILLERS[i % FILLERS.length];
    out.push([`${base}${pad(Math.floor(i / FILLERS.length) + 1, 2)}`, type, units]);
  }
  return out;
}

/** Every data attribute path of a leaf, as an instance sees it (modules dotted). */
function dataPaths(leaf, tags) {
  const own = [...EQUIPMENT_DATA, ...MOTOR_DATA, ...leaf.own, ...fillers(leaf, tags)].map((a) => a[0]);
  const mods = leaf.modules.flatMap((m) => VALVE_DATA.map((a) => `${m}.${a[0]}`));
  return [...own, ...mods];
}

function templatesYaml(tags) {
  const valve = `# Composed into every leaf (Pump.Inlet, Blower.Damper...): {{module}} is the module path.
kind: Template
name: Valve
description: Modulating valve with an electric actuator.
attributes:
${VALVE_DATA.map((a) => attr(a, pattern(true))).join("")}  - name: Travel
    description: Largest allowed opening.
    dataType: Double
    units: "%"
    value: 100
alarms:
  - name: Slam
    trigger: { type: rateOfChange, attribute: Position, perSecond: 20 }
    priority: 600
  - name: OverTravel
    trigger: { type: threshold, attribute: Position, op: ">", value: 100 }
    priority: 400
  - name: ActuatorFault
    trigger: { type: match, attribute: Fault, value: true }
    priority: 700
  - name: TorqueBand
    trigger: { type: range, attribute: Torque, low: 0, high: 90 }
    priority: 550
scripts:
  - name: LimitCommand
    trigger: { type: onChange, attribute: Command }
    code: |
      const limit = attributes.get("Travel");
      if (attributes.get("Command") > limit) attributes.set("Command", limit);
`;
  const equipment = `# Equipment -> Motor -> Pump / Blower / Agitator.
kind: Template
name: Equipment
description: Base of every piece of plant.
attributes:
${EQUIPMENT_DATA.map((a) => attr(a, pattern(false))).join("")}  - name: AssetId
    dataType: String
    value: unassigned
  - name: ServiceIntervalHours
    dataType: Double
    units: h
    value: 8000
  - name: Manufacturer
    dataType: String
    value: unknown
alarms:
  - name: Tripped
    trigger: { type: match, attribute: Fault, value: true }
    priority: 800
    onTrigger: LogTrip
  - name: CommsLost
    trigger: { type: match, attribute: CommsOk, value: false }
    priority: 900
scripts:
  - name: LogTrip
    trigger: { type: call }
    timeoutMs: 500
    code: |
      log.error(\`\${attributes.get("AssetId")} tripped after \${attributes.get("RunHours")} h run\`);
  - name: ServiceDue
    trigger: { type: interval, everyMs: 86400000 }
    code: |
      const hours = attributes.get("RunHours");
      if (hours >= attributes.get("ServiceIntervalHours")) log.warn(\`service due: \${hours} h\`);
---
kind: Template
name: Motor
extends: Equipment
description: Motor on a variable speed drive.
attributes:
${MOTOR_DATA.map((a) => attr(a, pattern(false))).join("")}  - name: MaxSpeed
    dataType: Double
    units: rpm
    value: 1500
    locked: true
  - name: RatedCurrent
    dataType: Double
    units: A
    value: 40
alarms:
  - name: OverCurrent
    trigger: { type: threshold, attribute: Current, op: ">", value: 44 }
    priority: 700
  - name: WindingTempBand
    trigger: { type: range, attribute: WindingTemp, low: -10, high: 140 }
    priority: 750
  - name: VibrationRise
    trigger: { type: rateOfChange, attribute: Vibration, perSecond: 2 }
    priority: 600
scripts:
  - name: LimitSetpoint
    trigger: { type: onChange, attribute: SpeedSetpoint }
    code: |
      const sp = attributes.get("SpeedSetpoint");
      const limited = callShared("Clamp", sp, 0, attributes.get("MaxSpeed"));
      if (limited !== sp) attributes.set("SpeedSetpoint", limited);
  - name: BearingWatch
    trigger: { type: expression, expression: 'attributes.get("BearingTempDE") > 90 || attributes.get("BearingTempNDE") > 90' }
    code: log.warn("bearing temperature above 90 degC");
overrides:
  ServiceIntervalHours: { value: 12000 }
`;
  const leaves = LEAVES.map((leaf) => {
    if (fillerCount(leaf, tags) < 0) throw new Error(`--tags ${tags} is too few for template ${leaf.name}`);
    return `kind: Template
name: ${leaf.name}
extends: Motor
description: ${leaf.description}
attributes:
${[...leaf.own, ...fillers(leaf, tags)].map((a) => attr(a, pattern(false))).join("")}${leaf.statics}alarms:
${leaf.alarms}scripts:
${leaf.scripts}compose:
${leaf.modules.map((m) => `  - { name: ${m}, template: Valve }\n`).join("")}overrides:
${leaf.overrides}`;
  });
  return [
    ["templates/valve.yaml", valve],
    ["templates/equipment.yaml", equipment],
    ...LEAVES.map((leaf, i) => [`templates/${leaf.name.toLowerCase()}.yaml`, leaves[i]]),
  ];
}

function siteYaml(s) {
  const areas = AREAS.map((a) =>
    a.areas
      ? `  - name: ${a.name}\n    areas:\n${a.areas.map((x) => `      - { name: ${x} }\n`).join("")}`
      : `  - name: ${a.name}\n`,
  ).join("");
  return `kind: Site
name: ${s.name}
description: Synthetic treatment works ${s.num}.
labels: { region: region-${(s.num % 3) + 1}, type: treatment-works }
areas:
${areas}dataConnections:
  - name: plc-process
    endpoint: opc.tcp://10.${s.num}.1.10:4840
    auth: { type: anonymous }
    samplingIntervalMs: 500
  - name: plc-utilities
    endpoint: opc.tcp://10.${s.num}.2.10:4840
    securityMode: SignAndEncrypt
    securityPolicy: Basic256Sha256
    auth: { type: username, username: scadalink, passwordSecret: SITE${pad(s.num, 2)}_PLC_PASSWORD }
`;
}

/** One instance entry's body (bindings and overrides), indented for an InstanceSet entry or a top-level doc. */
function instanceBody(inst, indent) {
  const ind = " ".repeat(indent);
  let out = "";
  if (inst.bindings.length) {
    out += `${ind}bindings:\n`;
    for (const b of inst.bindings)
      out += `${ind}  ${b.path}: { tag: "${b.tag}"${b.connection ? `, connection: ${b.connection}` : ""} }\n`;
  }
  out += `${ind}overrides:\n`;
  for (const [k, v] of inst.overrides) out += `${ind}  ${k}: ${v}\n`;
  return out;
}

/**
 * Writes a synthetic repo into dir (emptied first). Returns { files, instances, tags, bindings } counts; with
 * check (default) compiles it with dist/ and throws unless it has 0 errors and every instance has `tags` data attributes.
 */
export async function generateRepo(
  dir,
  { sites = 10, instances = 500, tagsPerInstance = 75, seed = 1, check = true } = {},
) {
  const rand = prng(seed);
  const pick = (arr) => arr[Math.floor(rand() * arr.length)];
  const files = new Map();

  files.set(
    "scadalink.yaml",
    `kind: Repository
description: Synthetic benchmark repo (${sites} sites, ${instances} instances, ${tagsPerInstance} tags each).
rollout: batch
exclude: ["docs/**"]
`,
  );
  files.set(
    "shared-scripts/math.yaml",
    `kind: SharedScript
name: Clamp
parameters: [{ name: x, type: Double }, { name: lo, type: Double }, { name: hi, type: Double }]
returns: Double
code: return Math.min(hi, Math.max(lo, x));
---
kind: SharedScript
name: SafeDivide
parameters: [{ name: a, type: Double }, { name: b, type: Double }, { name: fallback, type: Double }]
returns: Double
code: |
  if (b === 0) return fallback;
  const q = a / b;
  return Number.isFinite(q) ? q : fallback;
`,
  );
  for (const [p, t] of templatesYaml(tagsPerInstance)) files.set(p, t);

  const leafPaths = LEAVES.map((l) => dataPaths(l, tagsPerInstance));
  const nBind = Math.round(tagsPerInstance * 0.2);
  let bindingCount = 0;
  let setIndex = 0;
  const siteList = [];

  for (let si = 0; si < sites; si++) {
    const site = { num: si + 1, name: `wtp-${pad(si + 1, 2)}`, code: `S${pad(si + 1, 2)}` };
    siteList.push(site);
    files.set(`sites/${site.name}.yaml`, siteYaml(site));
    const perSite = Math.floor(instances / sites) + (si < instances % sites ? 1 : 0);
    // ~45 entries per area file, at least 2 areas, at most every leaf area.
    const nAreas = Math.min(LEAF_AREAS.length, Math.max(2, Math.ceil(perSite / 45)));
    let seq = 0;
    for (let ai = 0; ai < nAreas; ai++) {
      const area = LEAF_AREAS[ai];
      const areaCode = area.split("/").pop().slice(0, 4).toUpperCase();
      const inArea = Math.floor(perSite / nAreas) + (ai < perSite % nAreas ? 1 : 0);
      if (inArea === 0) continue;
      // About 1 in 25 instances is a standalone Instance document; the rest sit in InstanceSets of <= 45.
      const singles = Math.floor(inArea / 25);
      const inSets = inArea - singles;
      const nSets = Math.ceil(inSets / 45);
      const docs = [];
      const makeInstance = (leafIdx, connection, tagPrefix) => {
        const leaf = LEAVES[leafIdx];
        seq++;
        const name = `${leaf.prefix}${pad(seq, 4)}`;
        const paths = [...leafPaths[leafIdx]];
        const bindings = [];
        for (let k = 0; k < nBind && paths.length; k++) {
          const path = paths.splice(Math.floor(rand() * paths.length), 1)[0];
          const field = path.replace(/\./g, "_").toUpperCase();
          // A few legacy signals wired to the other PLC.
          const other = rand() < 0.05 ? (connection === "plc-process" ? "plc-utilities" : "plc-process") : undefined;
          bindings.push({
            path,
            tag: `ns=3;s=${tagPrefix}.DB${pad(seq % 100, 2)}.${name}_${field}`,
            connection: other,
          });
        }
        bindingCount += bindings.length;
        const overrides = [
          ["AssetId", `${site.code}-${leaf.prefix}-${pad(seq, 4)}`],
          ["ServiceIntervalHours", String(pick([6000, 8000, 10000, 12000, 16000]))],
          [`${leaf.modules[leaf.modules.length - 1]}.Travel`, String(80 + Math.floor(rand() * 21))],
        ];
        if (rand() < 0.3) overrides.push(["Manufacturer", pick(["Grundfos", "KSB", "Flygt", "Sulzer", "ABB"])]);
        if (rand() < 0.1) for (const [k, v] of Object.entries(leaf.alarmOverride())) overrides.push([k, v]);
        return { name, bindings, overrides };
      };
      for (let k = 0; k < nSets; k++) {
        const count = Math.floor(inSets / nSets) + (k < inSets % nSets ? 1 : 0);
        const leafIdx = setIndex++ % LEAVES.length;
        const leaf = LEAVES[leafIdx];
        const connection = k % 2 === 0 ? "plc-process" : "plc-utilities";
        const tagPrefix = `${site.code}.${areaCode}`;
        let doc = `kind: InstanceSet
name: ${leaf.name.toLowerCase()}s-${areaCode.toLowerCase()}-${k + 1}
site: ${site.name}
area: ${area}
template: ${leaf.name}
connection: ${connection}
parameters: { tagPrefix: ${tagPrefix} }
labels: { process: ${areaCode.toLowerCase()}, criticality: ${k % 3 === 0 ? "high" : "low"} }
instances:
`;
        for (let e = 0; e < count; e++) {
          const inst = makeInstance(leafIdx, connection, tagPrefix);
          doc += `  - name: ${inst.name}\n${instanceBody(inst, 4)}`;
        }
        docs.push(doc);
      }
      for (let k = 0; k < singles; k++) {
        const leafIdx = (ai + k) % LEAVES.length;
        const tagPrefix = `${site.code}.${areaCode}`;
        const inst = makeInstance(leafIdx, "plc-process", tagPrefix);
        docs.push(`kind: Instance
name: ${inst.name}
description: Standalone ${LEAVES[leafIdx].name.toLowerCase()} outside the sets.
site: ${site.name}
area: ${area}
template: ${LEAVES[leafIdx].name}
connection: plc-process
parameters: { tagPrefix: ${tagPrefix} }
${instanceBody(inst, 0)}`);
      }
      files.set(`instances/${site.name}/${area.toLowerCase().replace("/", "-")}.yaml`, docs.join("---\n"));
    }
  }

  const first = siteList[0].name;
  files.set(
    "batches/2026-01-10-pilot.yaml",
    `kind: Batch
name: 2026-01-10-pilot
description: Pilot on the first site's pumps.
select:
  match:
    - { site: ${first}, template: Pump }
phase: execute
failurePolicy: { maxFailed: 0 }
deadlineMinutes: 30
`,
  );
  files.set(
    "batches/2026-02-01-critical.yaml",
    `kind: Batch
name: 2026-02-01-critical
description: Every high-criticality set, after the pilot.
select:
  match:
    - { labels: { criticality: high } }
phase: prepare
after: [2026-01-10-pilot]
failurePolicy: { maxFailed: 2 }
evidence: [values-snapshot, alarm-states]
`,
  );

  // Only ever replace an earlier generated repo, never an unrelated directory.
  const existing = await readdir(dir).catch(() => []);
  if (existing.length && !existing.includes("scadalink.yaml")) throw new Error(`${dir} is not empty and holds no repo`);
  await rm(dir, { recursive: true, force: true });
  for (const [p, text] of files) {
    await mkdir(dirname(join(dir, p)), { recursive: true });
    await writeFile(join(dir, p), text);
  }
  const result = { files: files.size, instances, tags: tagsPerInstance, bindings: bindingCount };
  if (check) await checkRepo(dir, result);
  return result;
}

/**
 * A one-instance edit for the incremental benchmarks: sets the first ServiceIntervalHours override of the file to
 * 5000 + n, so each distinct n is a real change of one static override.
 */
export function editOverride(text, n) {
  if (!/ServiceIntervalHours: \d+/.test(text)) throw new Error("no ServiceIntervalHours override to edit");
  return text.replace(/ServiceIntervalHours: \d+/, `ServiceIntervalHours: ${5000 + n}`);
}

/** Compiles the repo with the built compiler; throws with the first diagnostics unless it is clean and to scale. */
async function checkRepo(dir, expected) {
  const { compileFiles } = await import(pathToFileURL(join(ROOT, "dist/controller/compiler/compile.js")).href);
  const { readWorkingTree } = await import(pathToFileURL(join(ROOT, "dist/controller/sources/working-tree.js")).href);
  const c = compileFiles(await readWorkingTree(dir));
  const problems = [];
  if (c.errorCount > 0) {
    problems.push(`${c.errorCount} errors:`);
    for (const d of c.diagnostics.filter((x) => x.severity === "error").slice(0, 10))
      problems.push(`  ${JSON.stringify(d)}`);
  }
  // Warnings (e.g. an empty batch match in a tiny repo) do not make it invalid, but say so.
  if (c.warningCount > 0)
    process.stderr.write(
      `generate: ${c.warningCount} warnings, first: ${c.diagnostics.find((x) => x.severity === "warning").message}\n`,
    );
  if (c.stats.instances !== expected.instances)
    problems.push(`${c.stats.instances} instances, expected ${expected.instances}`);
  for (const leaf of LEAVES) {
    const flat = c.template(leaf.name);
    const data = flat ? [...flat.members.values()].filter((m) => m.kind === "attribute" && m.source === "data") : [];
    if (data.length !== expected.tags)
      problems.push(`${leaf.name} has ${data.length} data attributes, expected ${expected.tags}`);
  }
  if (problems.length) throw new Error(`generated repo ${dir} is not valid:\n${problems.join("\n")}`);
}

// CLI
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const usage =
    "usage: node bench/generate.mjs DIR [--sites 10] [--instances 500] [--tags 75] [--seed 1] [--no-check]\n";
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        sites: { type: "string", default: "10" },
        instances: { type: "string", default: "500" },
        tags: { type: "string", default: "75" },
        seed: { type: "string", default: "1" },
        "no-check": { type: "boolean", default: false },
      },
    });
  } catch (e) {
    process.stderr.write(`${e.message}\n${usage}`);
    process.exit(2);
  }
  const { values: v, positionals } = parsed;
  const nums = [v.sites, v.instances, v.tags, v.seed].map(Number);
  if (positionals.length !== 1 || nums.some((x) => !Number.isInteger(x) || x < 1)) {
    process.stderr.write(usage);
    process.exit(2);
  }
  const dir = resolve(positionals[0]);
  const [sites, instances, tagsPerInstance, seed] = nums;
  generateRepo(dir, { sites, instances, tagsPerInstance, seed, check: !v["no-check"] }).then(
    (r) => process.stdout.write(`${JSON.stringify({ dir, ...r })}\n`),
    (e) => {
      process.stderr.write(`${e.message}\n`);
      process.exit(1);
    },
  );
}
