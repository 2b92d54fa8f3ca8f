// Reads a desired add-on set as the hub sends it (PUT /v1/addons/desired).
// The hub validated each spec before storing it, but a hub of another
// version, or a damaged store, may not have: the agent parses the envelope
// (names, generations, deleted markers) and each spec in full, with the same
// parser the hub uses, so a bad push is refused with the field named instead
// of failing later inside the engine. Messages never echo values: values may
// hold credentials.
import { AddonSpecError } from '../../domain/addon-spec/fields.ts';
import { parseAddonSpec } from '../../domain/addon-spec/spec.ts';
import type { DesiredAddon, DesiredAddonSet, DesiredAddonSpec } from '../../link/addons.ts';
import { UplinkError } from '../../util/errors.ts';

/** Same bound as the hub's: 500 add-on rows per cluster. */
export const MAX_DESIRED_ADDONS = 500;
/** An add-on's name is its Helm release name: a DNS-1123 label of at most 53 characters. */
const ADDON_NAME = /^[a-z0-9]([a-z0-9-]{0,51}[a-z0-9])?$/;

/** A pushed set the agent refuses; code DESIRED_ADDONS_INVALID, message naming the field. */
export class DesiredAddonsError extends UplinkError {
  constructor(message: string) {
    super('DESIRED_ADDONS_INVALID', message);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkGeneration(value: unknown, field: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new DesiredAddonsError(`${field} must be a whole number of at least ${min}`);
  }
  return value;
}

function parseAddon(value: unknown, index: number, seen: Set<string>): DesiredAddon {
  const field = `addons[${index}]`;
  if (!isObject(value)) throw new DesiredAddonsError(`${field} must be an object`);
  const { name, generation, deleted, spec } = value;
  if (typeof name !== 'string' || !ADDON_NAME.test(name)) {
    throw new DesiredAddonsError(`${field}.name must be a DNS-1123 label of at most 53 characters`);
  }
  if (seen.has(name)) throw new DesiredAddonsError(`${field}.name '${name}' appears twice`);
  seen.add(name);
  if (typeof deleted !== 'boolean') throw new DesiredAddonsError(`${field}.deleted must be true or false`);
  if (!isObject(spec)) throw new DesiredAddonsError(`${field}.spec must be an object`);
  return { name, generation: checkGeneration(generation, `${field}.generation`, 1), deleted, spec: parseSpec(spec, `${field}.spec`) };
}

/** A pushed spec, parsed as the hub parses one written to its API. */
function parseSpec(spec: Record<string, unknown>, field: string): DesiredAddonSpec {
  try {
    return parseAddonSpec(spec);
  } catch (error) {
    if (!(error instanceof AddonSpecError)) throw error;
    // The parser's message may quote part of the values text (a YAML error shows where); this one does not.
    const message = error.field === 'values' ? 'values must be YAML text holding one mapping, of at most 256 KiB' : error.message;
    throw new DesiredAddonsError(`${field}: ${message}`);
  }
}

/** Checks a pushed set (already JSON-decoded); throws DesiredAddonsError naming the first bad field. */
export function parseDesiredAddonSet(value: unknown): DesiredAddonSet {
  if (!isObject(value)) throw new DesiredAddonsError('the body must be an object {generation, addons}');
  const generation = checkGeneration(value.generation, 'generation', 0);
  if (!Array.isArray(value.addons)) throw new DesiredAddonsError('addons must be a list');
  if (value.addons.length > MAX_DESIRED_ADDONS) throw new DesiredAddonsError(`addons holds more than ${MAX_DESIRED_ADDONS} add-ons`);
  const seen = new Set<string>();
  const addons = value.addons.map((addon, index) => parseAddon(addon, index, seen));
  return { generation, addons };
}

/** Names and generations only, for logs: never a spec or values. */
export function describeDesiredAddons(set: DesiredAddonSet): { generation: number; addons: string[] } {
  return {
    generation: set.generation,
    addons: set.addons.map((a) => `${a.name}@${a.generation}${a.deleted ? ' (deleted)' : ''}`),
  };
}
