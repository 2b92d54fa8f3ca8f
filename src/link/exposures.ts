// The Service gateway on the wire: the exposures the hub pushes to an agent
// (what the agent will let a gateway stream reach) and the one header a
// gateway stream carries. A gateway stream names an exposure by its opaque
// id and nothing else: no address, namespace, Service or port travels with
// it, so a hub session can reach only what the hub pushed.
import { isExposureId, parseExposurePort } from '../domain/exposure.ts';
import { CodedError } from '../domain/error-codes.ts';
import { isDnsLabel } from '../domain/kube-names.ts';

/** Paths on the agent for the exposure set. */
export const EXPOSURE_PATHS = {
  /**
   * PUT DesiredExposureSet: the cluster's whole exposure set, at each link
   * and after every change. 204 once held (also for the generation it holds);
   * 409 `{error: {code: 'DESIRED_EXPOSURES_STALE', …}, generation}` for an
   * older generation; 400 DESIRED_EXPOSURES_INVALID, 413 BODY_TOO_LARGE.
   * GET: the held set (generation 0 and no exposures before the first
   * push), for tests and debugging.
   */
  desired: '/v1/exposures/desired',
} as const;

/** The gateway stream's only header (AGENT_PATHS.gateway): the exposure's id. */
export const EXPOSURE_HEADER = 'x-uplink-exposure';

/** The most exposures a cluster has, and so the most an agent holds. */
export const MAX_EXPOSURES_PER_CLUSTER = 256;
/** Largest exposure set the agent reads: 256 entries of a few hundred bytes each. */
export const MAX_DESIRED_EXPOSURES_BYTES = 256 * 1024;

/** One exposure as the agent needs it: what to dial, under which id. */
export interface DesiredExposure {
  id: string;
  namespace: string;
  service: string;
  port: number | string;
}

/**
 * A cluster's exposure set. `generation` counts the set's changes on the hub
 * (every put and delete adds one, never back), so an agent can keep a newer
 * set when an older push arrives late.
 */
export interface DesiredExposureSet {
  generation: number;
  exposures: DesiredExposure[];
}

function invalid(message: string): CodedError {
  return new CodedError('DESIRED_EXPOSURES_INVALID', message);
}

function parseEntry(value: unknown, index: number): DesiredExposure {
  if (typeof value !== 'object' || value === null) throw invalid(`exposures[${index}] must be an object`);
  const { id, namespace, service, port } = value as Record<string, unknown>;
  if (!isExposureId(id)) throw invalid(`exposures[${index}].id is not an exposure id`);
  if (typeof namespace !== 'string' || !isDnsLabel(namespace)) throw invalid(`exposures[${index}].namespace must be a DNS label`);
  if (typeof service !== 'string' || !isDnsLabel(service)) throw invalid(`exposures[${index}].service must be a DNS label`);
  const parsed = parseExposurePort(port);
  if (parsed === undefined) throw invalid(`exposures[${index}].port must be a port number or name`);
  return { id, namespace, service, port: parsed };
}

/** Checks a pushed set with its bounds; throws CodedError DESIRED_EXPOSURES_INVALID naming the first problem. */
export function parseDesiredExposureSet(value: unknown): DesiredExposureSet {
  if (typeof value !== 'object' || value === null) throw invalid('the body must be an object {generation, exposures}');
  const { generation, exposures } = value as Record<string, unknown>;
  if (typeof generation !== 'number' || !Number.isSafeInteger(generation) || generation < 0) throw invalid('generation must be a whole number of at least 0');
  if (!Array.isArray(exposures)) throw invalid('exposures must be a list');
  if (exposures.length > MAX_EXPOSURES_PER_CLUSTER) throw invalid(`the set holds ${exposures.length} exposures, more than ${MAX_EXPOSURES_PER_CLUSTER}`);
  const list = exposures.map(parseEntry);
  if (new Set(list.map((e) => e.id)).size !== list.length) throw invalid('an exposure id appears twice');
  return { generation, exposures: list };
}
