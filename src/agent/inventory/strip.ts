// What the inventory keeps of an object. managedFields are large and of no
// use to a reader; the last-applied annotation is a copy of what was
// applied, which for a Secret is its plaintext. Secrets are listed and
// watched as metadata only, and anything else is dropped here again as a
// second line of defence.
import { apiVersionOf, type KindSpec } from './kinds.ts';
import type { KubeObject } from './summary.ts';

export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * Strips an object in place (it was just parsed and is not shared) and sets
 * apiVersion and kind, which list items and PartialObjectMetadata lack or
 * misstate.
 */
export function stripObject(spec: KindSpec, object: KubeObject): KubeObject {
  const metadata = object.metadata;
  if (metadata) {
    delete metadata.managedFields;
    if (metadata.annotations) Reflect.deleteProperty(metadata.annotations, LAST_APPLIED_ANNOTATION);
  }
  if (spec.metadataOnly) return { apiVersion: apiVersionOf(spec.info), kind: spec.info.kind, metadata: metadata ?? {} };
  if (spec.info.group === '' && spec.info.resource === 'secrets') {
    delete object.data;
    delete object.stringData;
  }
  const identity = { apiVersion: apiVersionOf(spec.info), kind: spec.info.kind };
  // Keys created first stay first: apiVersion and kind lead, as kubectl prints them.
  return Object.assign({ ...identity }, object, identity);
}
