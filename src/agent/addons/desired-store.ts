// Where the agent keeps its desired add-ons across restarts, beside its state
// (state.ts): a Secret of its own namespace in a cluster, or a 0600 file
// outside one. A Secret because values may hold credentials. The Secret holds
// the set as gzipped JSON: Secrets are capped at 1 MiB and values compress
// well; a set too large even so fails to save and the hub retries it.
import { gunzipSync, gzipSync } from 'node:zlib';
import type { DesiredAddonSet } from '../../link/addons.ts';
import { UplinkError } from '../../util/errors.ts';
import type { KubeClient } from '../kube.ts';
import { OwnSecret, readOptionalFile, stateSiblingFile, writePrivateFile } from '../own-storage.ts';
import { parseDesiredAddonSet } from './desired-set.ts';

/** The Secret's name in the agent's namespace. */
export const DESIRED_ADDONS_SECRET = 'uplink-agent-addons';
/** The file beside a state file, named after it (`state.json` → `state.addons.json`): one per agent. */
export function desiredAddonsFileFor(stateFile: string): string {
  return stateSiblingFile(stateFile, 'addons');
}
const SECRET_KEY = 'desired.json.gz';

export interface DesiredAddonsStore {
  /** Where the set lives, for logs. */
  describe(): string;
  /** The stored set, or undefined when none was ever stored. */
  load(): Promise<DesiredAddonSet | undefined>;
  /** Resolves once the set is durable. */
  save(set: DesiredAddonSet): Promise<void>;
}

/** Code DESIRED_ADDONS_STORE_FAILED: the set could not be read or written. */
export class DesiredAddonsStoreError extends UplinkError {
  constructor(message: string, options?: ErrorOptions) {
    super('DESIRED_ADDONS_STORE_FAILED', message, options);
  }
}

function decode(text: string, where: string): DesiredAddonSet {
  try {
    return parseDesiredAddonSet(JSON.parse(text));
  } catch (error) {
    throw new DesiredAddonsStoreError(`desired add-ons in ${where} are unreadable (${(error as Error).message}); fix or remove them, the hub sends the set again on the next link`, { cause: error });
  }
}

export class FileDesiredAddonsStore implements DesiredAddonsStore {
  private readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  describe(): string {
    return `file ${this.path}`;
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- async so that every failure is a rejection
  async load(): Promise<DesiredAddonSet | undefined> {
    let text: string | undefined;
    try {
      text = readOptionalFile(this.path);
    } catch (error) {
      throw new DesiredAddonsStoreError(`cannot read ${this.path}: ${(error as Error).message}`, { cause: error });
    }
    return text === undefined ? undefined : decode(text, this.describe());
  }

  /** Writes atomically (temp file + rename) with mode 0600. */
  // eslint-disable-next-line @typescript-eslint/require-await -- async so that every failure is a rejection
  async save(set: DesiredAddonSet): Promise<void> {
    try {
      writePrivateFile(this.path, JSON.stringify(set));
    } catch (error) {
      throw new DesiredAddonsStoreError(`cannot write ${this.path}: ${(error as Error).message}`, { cause: error });
    }
  }
}

export class SecretDesiredAddonsStore implements DesiredAddonsStore {
  private readonly secret: OwnSecret;

  constructor(kube: KubeClient, namespace: string, name = DESIRED_ADDONS_SECRET) {
    this.secret = new OwnSecret(kube, namespace, name);
  }

  describe(): string {
    return this.secret.describe();
  }

  async load(): Promise<DesiredAddonSet | undefined> {
    let data: Record<string, Buffer> | undefined;
    try {
      data = await this.secret.read();
    } catch (error) {
      throw new DesiredAddonsStoreError(`cannot read ${this.describe()}`, { cause: error });
    }
    const packed = data?.[SECRET_KEY];
    if (packed === undefined) return undefined;
    let text: string;
    try {
      text = gunzipSync(packed).toString('utf8');
    } catch (error) {
      throw new DesiredAddonsStoreError(`${this.describe()} does not hold gzipped JSON; remove it, the hub sends the set again on the next link`, { cause: error });
    }
    return decode(text, this.describe());
  }

  async save(set: DesiredAddonSet): Promise<void> {
    try {
      await this.secret.write({ [SECRET_KEY]: gzipSync(JSON.stringify(set)) });
    } catch (error) {
      throw new DesiredAddonsStoreError(`cannot write ${this.describe()}`, { cause: error });
    }
  }
}
