// The cluster's RBAC applied to inventory answers: before the agent answers
// a list, get, events or watch from its cache, it asks whether the hub
// user's identity may do the same against the API server. A list or watch
// over all namespaces that the user may not do cluster-wide is narrowed to
// the namespaces the user may read; with none, it is refused like the API
// server would refuse it.
import type { KindInfo } from '../link/resources.ts';
import type { AccessIdentity, AccessQuestion, AccessReviewer } from './access-review.ts';
import { CodedError } from '../domain/error-codes.ts';

/** Namespaces reviewed one by one for a list over all namespaces; beyond this, the caller must name one. */
export const MAX_NAMESPACE_REVIEWS = 1000;
/** Reviews of one query in flight at once. */
const REVIEW_CONCURRENCY = 16;

/** A read the cluster's RBAC refuses to the identity: 403, worded like the API server's refusal. */
export class AccessDeniedError extends CodedError {
  constructor(message: string) {
    super('FORBIDDEN', message);
  }
}

/** `roles.rbac.authorization.k8s.io is forbidden: User "uplink:alice" cannot list resource "roles" ...`, as kubectl prints it. */
export function forbiddenMessage(identity: AccessIdentity, question: AccessQuestion): string {
  const qualified = question.group === '' ? question.resource : `${question.resource}.${question.group}`;
  const resource = question.subresource === undefined ? question.resource : `${question.resource}/${question.subresource}`;
  const scope = question.namespace === '' ? 'at the cluster scope' : `in the namespace "${question.namespace}"`;
  return `${qualified} is forbidden: User "${identity.user}" cannot ${question.verb} resource "${resource}" in API group "${question.group}" ${scope}`;
}

export interface ResourceAccessOptions {
  reviewer: Pick<AccessReviewer, 'allowed'>;
  /** Names of the cluster's namespaces, as the inventory knows them. */
  namespaceNames: () => string[];
}

/** What a read may see: everything it asked for, or only rows of `namespaces`. */
export interface ReadScope {
  namespaces?: ReadonlySet<string>;
}

export class ResourceAccess {
  private readonly options: ResourceAccessOptions;

  constructor(options: ResourceAccessOptions) {
    this.options = options;
  }

  /** Throws AccessDeniedError unless every verb is allowed on the kind in the namespace ('' cluster-wide). */
  async require(identity: AccessIdentity, kind: KindInfo, verbs: AccessQuestion['verb'][], namespace: string): Promise<void> {
    for (const verb of verbs) {
      const question = questionFor(kind, verb, kind.namespaced ? namespace : '');
      if (!(await this.options.reviewer.allowed(identity, question))) throw new AccessDeniedError(forbiddenMessage(identity, question));
    }
  }

  /**
   * The scope of a list or watch (`verbs` list, or list and watch): a named
   * namespace or a cluster-scoped kind must be allowed outright; over all
   * namespaces, a cluster-wide grant sees everything and anything less sees
   * the namespaces it is allowed in, if any.
   */
  async scope(identity: AccessIdentity, kind: KindInfo, verbs: AccessQuestion['verb'][], namespace: string | undefined): Promise<ReadScope> {
    if (!kind.namespaced || namespace !== undefined) {
      await this.require(identity, kind, verbs, namespace ?? '');
      return {};
    }
    if (await this.allowedAll(identity, kind, verbs, '')) return {};
    const names = this.options.namespaceNames();
    const refusal = (): AccessDeniedError => new AccessDeniedError(forbiddenMessage(identity, questionFor(kind, verbs[0] ?? 'list', '')));
    if (names.length > MAX_NAMESPACE_REVIEWS) throw refusal();
    const allowed = new Set<string>();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < names.length) {
        const name = names[next++] ?? '';
        if (await this.allowedAll(identity, kind, verbs, name)) allowed.add(name);
      }
    };
    await Promise.all(Array.from({ length: Math.min(REVIEW_CONCURRENCY, names.length) }, worker));
    if (allowed.size === 0) throw refusal();
    return { namespaces: allowed };
  }

  private async allowedAll(identity: AccessIdentity, kind: KindInfo, verbs: AccessQuestion['verb'][], namespace: string): Promise<boolean> {
    for (const verb of verbs) if (!(await this.options.reviewer.allowed(identity, questionFor(kind, verb, namespace)))) return false;
    return true;
  }
}

function questionFor(kind: KindInfo, verb: AccessQuestion['verb'], namespace: string): AccessQuestion {
  return { verb, group: kind.group, resource: kind.resource, namespace };
}
