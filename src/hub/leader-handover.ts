// How a new link of a leader-elected agent relates to the link already held
// for its cluster. The agent's replicas share one token and take turns on one
// Lease: a new leader's link is a handover (the old leader is gone, stopped
// leading, or is a dead connection not yet noticed), never two agents
// fighting over a token, so it takes the link at once and is not counted as
// a replacement. Terms (the Lease's leaseTransitions) only grow, so a lower
// term is a leader that has been deposed: refused while the newer one holds
// the link, a fence on top of the agent's own renew deadline.
import type { AgentLeader } from '../link/protocol.ts';
import type { LinkLeader } from '../link/leader-header.ts';

/**
 * handover: a later leader; same: the same leader linking again (its old
 * connection not yet seen closed); stale: an earlier leader; unrelated: no
 * terms to compare (an agent without leader election on either side, or two
 * Leases that happen to share a term): the replacement rules decide.
 */
export type LeaderVerdict = 'handover' | 'same' | 'stale' | 'unrelated';

/** Compares the leader holding the link with the one asking for it. */
export function compareLeaders(held: LinkLeader | undefined, incoming: LinkLeader | undefined): LeaderVerdict {
  if (held === undefined || incoming === undefined) return 'unrelated';
  if (incoming.term > held.term) return 'handover';
  if (incoming.term < held.term) return 'stale';
  return incoming.identity === held.identity ? 'same' : 'unrelated';
}

/** The leader in a cluster's stored facts, as a link leader. */
export function storedLeader(leader: AgentLeader | undefined): LinkLeader | undefined {
  return leader === undefined ? undefined : { term: leader.term, identity: leader.identity };
}
