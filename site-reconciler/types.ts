import type { DeploymentPackage, ExecutionRecord } from "../schemas/types.js";

/** Names for enums the generated types inline (common.schema.json's ResultState, EvidenceItem, InstanceState). */
export type ResultState = ExecutionRecord["result"];
export type EvidenceItem = ExecutionRecord["evidence"][number]["item"];
export type InstanceState = DeploymentPackage["instance"]["state"];
