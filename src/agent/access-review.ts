// Whether a hub user may read what it asks the inventory for. The inventory
// is filled with the agent's own rights, so every answer is checked against
// the cluster's RBAC for the identity the hub impersonates (the same
// `uplink:<user>` in `uplink:<role>` that kubectl through the hub runs as):
// a SubjectAccessReview per verb, resource and namespace, cached briefly.
import type { IncomingHttpHeaders } from 'node:http';
import { impersonationProblem } from '../kube/headers.ts';
import { apiError, type KubeClient } from './kube.ts';
import { CodedError } from '../domain/error-codes.ts';

/** How long an answer of the API server is reused: revoking a RoleBinding takes effect within this. */
export const ACCESS_REVIEW_TTL_MS = 10_000;
/** Answers kept at once; the oldest is dropped beyond this. */
export const MAX_ACCESS_REVIEW_ENTRIES = 10_000;
/** Time allowed for one SubjectAccessReview. */
export const ACCESS_REVIEW_TIMEOUT_MS = 5_000;
/** Group every impersonated, non-anonymous user is in (the API server adds it to impersonated identities). */
export const AUTHENTICATED_GROUP = 'system:authenticated';

const REVIEW_PATH = '/apis/authorization.k8s.io/v1/subjectaccessreviews';

/** Who asks: the hub's impersonation, as the API server would see it. */
export interface AccessIdentity {
  user: string;
  groups: string[];
}

/** What is asked: one verb on one resource, in a namespace or ('') cluster-wide. */
export interface AccessQuestion {
  verb: 'get' | 'list' | 'watch' | 'create';
  group: string;
  resource: string;
  subresource?: string;
  namespace: string;
}

/** How an access question was answered, for the agent's metric. */
export type AccessReviewOutcome = 'allowed' | 'denied' | 'cached' | 'failed';

/** The API server could not answer a review; the request is refused rather than answered unchecked. */
export class AccessReviewError extends CodedError {
  constructor(message: string, options?: ErrorOptions) {
    super('ACCESS_REVIEW_FAILED', message, options);
  }
}

/**
 * The identity in the hub's `Impersonate-User`/`Impersonate-Group` headers,
 * or the reason to refuse the request (see impersonationProblem).
 */
export function identityFromHeaders(headers: IncomingHttpHeaders): AccessIdentity | string {
  const problem = impersonationProblem(headers);
  if (problem !== undefined) return problem;
  return { user: String(headers['impersonate-user']), groups: [String(headers['impersonate-group']), AUTHENTICATED_GROUP] };
}

/** Asks the API server with a SubjectAccessReview; throws AccessReviewError when it does not answer. */
export function subjectAccessReview(kube: Pick<KubeClient, 'request'>): (identity: AccessIdentity, question: AccessQuestion) => Promise<boolean> {
  return async (identity, question) => {
    const body = {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: identity.user,
        groups: identity.groups,
        resourceAttributes: {
          verb: question.verb, group: question.group, resource: question.resource,
          ...(question.subresource !== undefined ? { subresource: question.subresource } : {}),
          ...(question.namespace !== '' ? { namespace: question.namespace } : {}),
        },
      },
    };
    let response;
    try {
      response = await kube.request<{ status?: { allowed?: unknown } }>('POST', REVIEW_PATH, body, ACCESS_REVIEW_TIMEOUT_MS);
    } catch (error) {
      throw new AccessReviewError(`cannot check access with the API server: ${(error as Error).message}`, { cause: error });
    }
    if (response.status < 200 || response.status > 299) {
      throw new AccessReviewError(`cannot check access with the API server: ${apiError('POST', REVIEW_PATH, response).message}`);
    }
    return response.body.status?.allowed === true;
  };
}

export interface AccessReviewerOptions {
  review: (identity: AccessIdentity, question: AccessQuestion) => Promise<boolean>;
  onOutcome?: (outcome: AccessReviewOutcome) => void;
  ttlMs?: number;
  maxEntries?: number;
  now?: () => number;
}

interface Entry {
  at: number;
  answer: Promise<boolean>;
}

/**
 * SubjectAccessReviews with a bounded, short-lived cache. Concurrent asks of
 * one question share one review; a failed review is not cached.
 */
export class AccessReviewer {
  private readonly options: AccessReviewerOptions;
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;

  constructor(options: AccessReviewerOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Whether the identity may do what the question says; rejects with AccessReviewError when the cluster cannot say. */
  async allowed(identity: AccessIdentity, question: AccessQuestion): Promise<boolean> {
    const key = JSON.stringify([identity.user, identity.groups, question.verb, question.group, question.resource, question.subresource ?? '', question.namespace]);
    const now = this.now();
    const cached = this.entries.get(key);
    if (cached && now - cached.at < (this.options.ttlMs ?? ACCESS_REVIEW_TTL_MS)) {
      this.options.onOutcome?.('cached');
      return cached.answer;
    }
    const answer = this.options.review(identity, question);
    this.entries.delete(key);
    this.entries.set(key, { at: now, answer });
    // Map order is insertion order: the first key is the oldest.
    while (this.entries.size > (this.options.maxEntries ?? MAX_ACCESS_REVIEW_ENTRIES)) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
    try {
      const allowed = await answer;
      this.options.onOutcome?.(allowed ? 'allowed' : 'denied');
      return allowed;
    } catch (error) {
      if (this.entries.get(key)?.answer === answer) this.entries.delete(key);
      this.options.onOutcome?.('failed');
      throw error instanceof AccessReviewError ? error : new AccessReviewError(`cannot check access: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Forgets every answer (tests, or a cluster whose RBAC was just changed by the agent). */
  clear(): void {
    this.entries.clear();
  }
}
