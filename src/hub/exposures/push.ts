// Pushes each linked cluster's exposure set to its agent (EXPOSURE_PATHS.desired):
// at each link, after every change made through any replica (the replica
// holding the link pushes; tier news `exposures` tells it), and on demand
// when the agent refused a gateway stream for an id it did not hold yet.
import { EXPOSURE_PATHS, type DesiredExposureSet } from '../../link/exposures.ts';
import { DesiredPusher, type DesiredPushOutcome, type DesiredPusherOptions } from '../desired-push.ts';
import type { Fleet } from '../fleet.ts';
import { setExposureResync } from '../gateway/link-stream.ts';
import type { Logger } from '../../util/logger.ts';
import type { ExposureSet } from '../store/store-exposures.ts';

/** The wire form of a cluster's exposures: only what the agent needs to dial, under each id. */
export function desiredExposuresOf(set: ExposureSet): DesiredExposureSet {
  return {
    generation: set.generation,
    exposures: set.exposures.map(({ id, namespace, service, port }) => ({ id, namespace, service, port })),
  };
}

export interface ExposurePusherOptions extends Omit<DesiredPusherOptions<DesiredExposureSet>, 'what' | 'path' | 'read' | 'size'> {
  /** The cluster's exposures with their generation (Store.getExposureSet). */
  readSet: (clusterId: string) => Promise<ExposureSet>;
}

/** The exposure sets' pusher. */
export class ExposurePusher extends DesiredPusher<DesiredExposureSet> {
  constructor(options: ExposurePusherOptions) {
    const { readSet, ...rest } = options;
    super({
      ...rest, what: 'exposures', path: EXPOSURE_PATHS.desired,
      read: async (clusterId) => desiredExposuresOf(await readSet(clusterId)),
      size: (set) => set.exposures.length,
    });
  }
}

export interface ExposurePushOptions {
  readSet: (clusterId: string) => Promise<ExposureSet>;
  fleet: Pick<Fleet, 'session' | 'onLinked'>;
  log: Logger;
  onOutcome: (outcome: DesiredPushOutcome) => void;
}

/**
 * The hub's exposure pusher, pushing at each link of `fleet`. Each link also
 * gets its resync (link-stream.ts): a gateway stream the agent refuses right
 * after a create pushes the set over that link and tries once more.
 */
export function startExposurePush(options: ExposurePushOptions): ExposurePusher {
  const { fleet } = options;
  const pusher = new ExposurePusher({ readSet: options.readSet, sessionOf: (clusterId) => fleet.session(clusterId), log: options.log, onOutcome: options.onOutcome });
  fleet.onLinked((clusterId) => {
    pusher.notify(clusterId);
    const session = fleet.session(clusterId);
    if (session) setExposureResync(session, () => pusher.pushNow(clusterId, session));
  });
  return pusher;
}
