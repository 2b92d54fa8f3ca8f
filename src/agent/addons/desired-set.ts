// Reads a desired add-on set as the hub sends it (PUT /v1/addons/desired).
// The hub validated each spec before storing it; the agent checks the
// envelope it relies on (names, generations, deleted markers) so that a bad
// push is refused with the field named instead of being stored. Messages
// never echo a spec or values: values may hold credentials.
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
  return { name, generation: checkGeneration(generation, `${field}.generation`, 1), deleted, spec: spec as unknown as DesiredAddonSpec };
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
