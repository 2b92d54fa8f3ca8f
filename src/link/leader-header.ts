// The AGENT_HEADERS.leader value: `TERM IDENTITY`, written by a leader-elected
// agent and parsed by the hub at its boundary. The identity is what the agent
// wrote into the Lease (leader-election.ts): a pod name (a DNS-1123 subdomain,
// at most 253 characters) and `_` with a hexadecimal suffix.
import { AGENT_HEADERS } from './protocol.ts';

/** A leader's claim on the link: its term and identity. */
export interface LinkLeader {
  /** The Lease's leaseTransitions when it took the Lease (0 to 2^31 − 1). */
  term: number;
  identity: string;
}

const MAX_TERM = 2 ** 31 - 1;
const HEADER = /^(0|[1-9]\d{0,9}) ([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?_[0-9a-f]{1,16})$/;

/** The header's value for `leader`. */
export function formatLeaderHeader(leader: LinkLeader): string {
  return `${leader.term} ${leader.identity}`;
}

/**
 * The leader in an upgrade request's headers: undefined when there is none
 * (an agent without leader election), 'invalid' when the header is repeated
 * or does not fit.
 */
export function parseLeaderHeader(headers: Record<string, string | string[] | undefined>): LinkLeader | 'invalid' | undefined {
  const value = headers[AGENT_HEADERS.leader];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') return 'invalid';
  const match = HEADER.exec(value);
  if (!match?.[1] || !match[2]) return 'invalid';
  const term = Number(match[1]);
  return term > MAX_TERM ? 'invalid' : { term, identity: match[2] };
}

/** The pod a Lease identity names: the identity without its process suffix. */
export function podOfIdentity(identity: string): string {
  const cut = identity.lastIndexOf('_');
  return cut > 0 ? identity.slice(0, cut) : identity;
}
