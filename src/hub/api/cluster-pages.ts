// Pages of the fleet list (GET /api/v1/clusters?limit=N&continue=TOKEN), in
// the manner of Kubernetes lists: at most `limit` clusters per answer, and
// `metadata.continue` to ask for the next page while there is one. Pages are
// keyed by cluster name (the store's order), so a page costs the same however
// deep into the fleet it is, and no answer grows with the fleet.
//
// The token is opaque to clients: base64url of {"v":1,"after":NAME}. It names
// a place in the order, not a snapshot: a cluster created or deleted between
// two pages shows or not according to where its name sorts, but a cluster
// that exists throughout is listed exactly once.
import { isDnsLabel } from '../../domain/kube-names.ts';
import { badRequest } from '../errors.ts';

/** Clusters in a page when the request gives no limit. */
export const CLUSTER_LIST_DEFAULT_LIMIT = 500;
/** The largest limit accepted: about 1 MiB of JSON with facts. */
export const CLUSTER_LIST_MAX_LIMIT = 1000;
/** A token this hub issues is under 120 characters; anything much longer is not one. */
const MAX_CONTINUE_CHARS = 256;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const TOKEN_VERSION = 1;

/** The fleet list's answer: one page, and the token for the next while there is one. */
export interface ClusterListPage<T> {
  items: T[];
  metadata: { continue?: string };
}

/** The token for the page after the cluster named `lastName`. */
export function encodeContinue(lastName: string): string {
  return Buffer.from(JSON.stringify({ v: TOKEN_VERSION, after: lastName })).toString('base64url');
}

/**
 * The cluster name a continue token starts after; undefined for no token
 * (absent or empty, the first page). Throws a 400 for anything this hub
 * would not have issued.
 */
export function decodeContinue(token: string | undefined): string | undefined {
  if (token === undefined || token === '') return undefined;
  const refuse = (): Error => badRequest('continue: not a token this hub issued; list again from the first page (without continue)');
  if (token.length > MAX_CONTINUE_CHARS || !BASE64URL.test(token)) throw refuse();
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw refuse();
  }
  if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) throw refuse();
  const { v, after } = decoded as { v?: unknown; after?: unknown };
  if (v !== TOKEN_VERSION || typeof after !== 'string' || !isDnsLabel(after)) throw refuse();
  return after;
}
