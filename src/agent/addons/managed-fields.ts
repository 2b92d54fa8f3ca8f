// Server-side apply's record of who owns which field: each entry of
// `metadata.managedFields` names a manager and, in `fieldsV1`, a trie of the
// fields it owns. Keys of the trie are `f:<name>` (a map field), `k:<json>`
// (a list item found by its key fields, e.g. `k:{"name":"web"}`), `v:<json>`
// (a set item, by value), `i:<index>` (a list item by position) and `.` (the
// node itself, beside its children). An ignore rule `{manager}` removes every
// field such a manager owns, so differences a known writer (an HPA, kubectl,
// an operator) makes do not count as drift.
import { isDeepStrictEqual } from 'node:util';

/** A fieldsV1 trie node: keys as above, each mapping to a child node (`{}` for a leaf). */
export type FieldSet = Record<string, unknown>;

/** Deeper tries are not walked further (a Deployment's go about 12 deep). */
const MAX_FIELDS_DEPTH = 64;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The fieldsV1 tries of every `managedFields` entry whose manager is `manager` (any operation or subresource). */
export function fieldSetsOf(managedFields: unknown, manager: string): FieldSet[] {
  if (!Array.isArray(managedFields)) return [];
  return managedFields.flatMap((entry: unknown) => (
    isObject(entry) && entry.manager === manager && isObject(entry.fieldsV1) ? [entry.fieldsV1] : []));
}

function parseJsonKey(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The indices of `list` that a list key (`k:`, `v:`, `i:`) names; none when the key is malformed. */
export function matchingIndices(list: readonly unknown[], key: string): number[] {
  const kind = key.slice(0, 2);
  const rest = key.slice(2);
  if (kind === 'i:') {
    const index = /^(0|[1-9][0-9]*)$/.test(rest) ? Number(rest) : -1;
    return index >= 0 && index < list.length ? [index] : [];
  }
  const wanted = kind === 'k:' || kind === 'v:' ? parseJsonKey(rest) : undefined;
  if (wanted === undefined) return [];
  const matches = kind === 'v:'
    ? (item: unknown) => isDeepStrictEqual(item, wanted)
    : (item: unknown) => isObject(item) && isObject(wanted) && Object.entries(wanted).every(([field, value]) => isDeepStrictEqual(item[field], value));
  return list.flatMap((item, index) => (matches(item) ? [index] : []));
}

function isEmptyContainer(value: unknown): boolean {
  return Array.isArray(value) ? value.length === 0 : isObject(value) && Object.keys(value).length === 0;
}

/**
 * Removes from `value`, in place, what `set` owns. Returns true when `value`
 * itself should go: it is a leaf of the trie (owned whole), or the manager
 * owns the node (`.`) and nothing is left in it once its owned children are
 * gone. A field the trie names but the value lacks is skipped.
 */
function removeOwned(value: unknown, set: FieldSet, depth: number): boolean {
  const keys = Object.keys(set);
  if (keys.length === 0) return true;
  if (depth > MAX_FIELDS_DEPTH) return false;
  if (isObject(value)) {
    for (const key of keys) {
      const child = set[key];
      if (!key.startsWith('f:') || !isObject(child)) continue;
      const name = key.slice(2);
      if (Object.hasOwn(value, name) && removeOwned(value[name], child, depth + 1)) Reflect.deleteProperty(value, name);
    }
  } else if (Array.isArray(value)) {
    const doomed = new Set<number>();
    for (const key of keys) {
      const child = set[key];
      if (!isObject(child)) continue;
      for (const index of matchingIndices(value, key)) if (removeOwned(value[index], child, depth + 1)) doomed.add(index);
    }
    // From the end, so the indices still to remove do not shift.
    for (const index of [...doomed].sort((a, b) => b - a)) value.splice(index, 1);
  }
  return Object.hasOwn(set, '.') && isEmptyContainer(value);
}

/** Removes from `object`, in place, every field the tries own; the object itself always stays. */
export function removeOwnedFields(object: Record<string, unknown>, sets: readonly FieldSet[]): void {
  for (const set of sets) removeOwned(object, set, 0);
}
