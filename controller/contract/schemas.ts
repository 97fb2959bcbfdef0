import type { ValidateFunction } from "ajv";
import { validators } from "../../schemas/validators.js";

/** The validator of a schema file: precompiled by scripts/gen-schemas.mjs, so nothing is compiled at run time. */
export function validatorFor(file: string): ValidateFunction {
  const v = validators[file];
  if (!v) throw new Error(`no schema ${file}`);
  return v as ValidateFunction;
}
