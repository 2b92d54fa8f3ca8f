// Self-heal of a Helm release's drift: re-applies the drifted objects as helm
// applies them (server-side apply under its field manager, with force), with
// whatever an ignore rule covers given its live value first, so healing one
// field never resets another that someone else is meant to own. Results are
// sentences, never object data.
import type { IgnoreRule } from '../../domain/addon-spec/policy.ts';
import { truncate } from '../inventory/summary.ts';
import {
  MAX_DRIFT_MESSAGE_CHARS, MAX_READ_ATTEMPTS, identityOf, metadataOf, resourceVersionOf, settle, stripServerFields, type ObjectDrift,
} from './drift.ts';
import { compileIgnoreRules, ignoresWholeObject, keepIgnoredFields, ruleCovers, type CompiledIgnoreRule } from './ignore-rules.ts';
import {
  applyObject, callApi, isObject, limiterFor, parseManifestObjects, prepareObject, refusal,
  type DriftCallOptions, type ManifestObject, type PreparedObject,
} from './release-apply.ts';

export interface HealDriftOptions extends DriftCallOptions {
  /** The add-on's `ignoreDifferences`: what they cover keeps its live value. A rule that cannot be used throws IgnoreRuleError before any request. */
  ignore: readonly IgnoreRule[];
}

/** How re-applying one drifted object went. */
export interface HealOutcome {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  ok: boolean;
  /** One sentence; never object data. */
  message: string;
}

function healOutcome(drift: ObjectDrift, ok: boolean, message: string): HealOutcome {
  const { apiVersion, kind, name, namespace } = drift;
  const outcome: HealOutcome = { apiVersion, kind, name, ok, message: truncate(message, MAX_DRIFT_MESSAGE_CHARS) };
  if (namespace !== undefined) outcome.namespace = namespace;
  return outcome;
}

/** The manifest's object a drift entry names, prepared; undefined when the manifest has none. */
async function findInManifest(objects: readonly ManifestObject[], drift: ObjectDrift, options: DriftCallOptions): Promise<PreparedObject | undefined> {
  for (const object of objects) {
    const { ref } = object;
    if (ref.apiVersion !== drift.apiVersion || ref.kind !== drift.kind || ref.name !== drift.name) continue;
    const prepared = await prepareObject(object, options);
    if (prepared.namespace === drift.namespace) return prepared;
  }
  return undefined;
}

const WHOLLY_IGNORED = 'left alone: an ignore rule covers the whole object';

/**
 * The manifest's body with live's values wherever an ignore rule covers
 * them, and live's resourceVersion as a precondition: the values copied
 * must still be live's when the apply lands, or the force would undo a
 * change made in between (the API server answers 409 instead). A Missing
 * object has nothing to keep and is created as rendered.
 */
async function bodyKeepingIgnored(
  prepared: PreparedObject, rules: readonly CompiledIgnoreRule[], options: HealDriftOptions,
): Promise<{ body: Record<string, unknown> } | { ok: boolean; message: string }> {
  const answer = await callApi(options.kube, { method: 'GET', path: prepared.path, signal: options.signal });
  if (answer.status === 404) return { body: prepared.body };
  if (answer.status < 200 || answer.status > 299 || !isObject(answer.body)) return { ok: false, message: `not applied: cannot read it (${refusal(answer)})` };
  const live = answer.body;
  const [resourceVersion, managedFields] = [resourceVersionOf(live), metadataOf(live)?.managedFields];
  // As in driftPaths: the rules see live without what only the server writes, ownership read first.
  stripServerFields(live);
  const body = structuredClone(prepared.body);
  if (keepIgnoredFields(body, live, rules, identityOf(prepared), { managedFields })) return { ok: true, message: WHOLLY_IGNORED };
  body.metadata = { ...metadataOf(body), resourceVersion };
  return { body };
}

async function healObject(drift: ObjectDrift, objects: readonly ManifestObject[], rules: readonly CompiledIgnoreRule[], options: HealDriftOptions): Promise<HealOutcome> {
  const prepared = await findInManifest(objects, drift, options);
  if (prepared === undefined) return healOutcome(drift, false, 'not applied: the release manifest has no such object');
  const identity = identityOf(prepared);
  if (ignoresWholeObject(prepared.body, rules, identity)) return healOutcome(drift, true, WHOLLY_IGNORED);
  const covered = rules.some((compiled) => ruleCovers(compiled.rule, identity));
  for (let attempt = 1; ; attempt += 1) {
    const next = covered ? await bodyKeepingIgnored(prepared, rules, options) : { body: prepared.body };
    if (!('body' in next)) return healOutcome(drift, next.ok, next.message);
    const answer = await applyObject(options.kube, { ...prepared, body: next.body }, { ...options, dryRun: false });
    if (answer.status >= 200 && answer.status <= 299) return healOutcome(drift, true, answer.status === 201 ? 'created' : 'applied');
    // With force, only the resourceVersion precondition conflicts: the object changed since it was read.
    if (answer.status !== 409 || !covered || attempt === MAX_READ_ATTEMPTS) {
      return healOutcome(drift, false, `the server-side apply was refused (${refusal(answer)})`);
    }
  }
}

/**
 * Re-applies exactly the Drifted and Missing objects of `drifted` from the
 * manifest, as helm applies them (server-side apply under its field manager,
 * taking conflicting fields back, with its ownership metadata), without a
 * new revision; a Missing object is created as rendered. What an ignore rule
 * covers keeps its live value (ignore-rules.ts keepIgnoredFields), so an
 * HPA's replicas survive the heal of an image; an object a rule covers
 * wholly is left alone (ok). One outcome per such object; rejects only when
 * the manifest is not YAML, a rule cannot be used (IgnoreRuleError) or
 * `signal` aborts.
 */
export async function healDrift(manifest: string, drifted: readonly ObjectDrift[], options: HealDriftOptions): Promise<HealOutcome[]> {
  options.signal?.throwIfAborted();
  const rules = compileIgnoreRules(options.ignore);
  const wanted = drifted.filter((drift) => drift.state === 'Drifted' || drift.state === 'Missing');
  const objects = parseManifestObjects(manifest);
  const run = limiterFor(options, wanted.length);
  return Promise.all(wanted.map((drift) => settle(run, options.signal, () => healObject(drift, objects, rules, options), (error) => (
    healOutcome(drift, false, `not applied: ${error.message}`)))));
}
