// TLS trust between agents and the hub. The hub keeps its own small CA on
// disk and serves the CA certificate at HUB_CA_PATH; an agent that was given
// the CA's hash (kubeadm's `sha256:<hex of the SPKI>`) fetches it once without
// verification, checks the pin and that the hub's TLS certificate on that same
// connection was issued by it, and from then on verifies normally with `ca`.
import { createHash, X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import { UplinkError } from '../util/errors.ts';

const CA_HASH_PREFIX = 'sha256:';
const CA_HASH_PATTERN = /^sha256:[0-9a-f]{64}$/i;
export const PEM_CERTIFICATE_PATTERN = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----/g;

/** Codes of HubTlsError; callers branch on these. */
export type HubTlsErrorCode =
  | 'INVALID_CA_HASH'
  | 'CA_HASH_MISMATCH'
  | 'CA_FETCH_FAILED'
  | 'CA_NOT_ISSUER'
  | 'INVALID_CERTIFICATE'
  | 'INVALID_SAN'
  | 'HUB_CA_INCOMPLETE';

/** A failure establishing trust with the hub, or managing the hub's certificates. */
export class HubTlsError extends UplinkError {
  declare readonly code: HubTlsErrorCode;

  constructor(code: HubTlsErrorCode, message: string, cause?: unknown) {
    super(code, message, cause === undefined ? undefined : { cause });
  }
}

/**
 * The pin of a CA, kubeadm style: `sha256:` + hex SHA-256 of the DER
 * SubjectPublicKeyInfo of the first certificate in `certPem`. Hashing the key
 * rather than the certificate keeps the pin valid if the CA is re-signed.
 */
export function caHashOf(certPem: string): string {
  const [first] = certPem.match(PEM_CERTIFICATE_PATTERN) ?? [];
  if (first === undefined) throw new HubTlsError('INVALID_CERTIFICATE', 'no PEM certificate found');
  let spki: Buffer;
  try {
    spki = new X509Certificate(first).publicKey.export({ type: 'spki', format: 'der' });
  } catch (error) {
    throw new HubTlsError('INVALID_CERTIFICATE', 'the PEM certificate could not be parsed', error);
  }
  return CA_HASH_PREFIX + createHash('sha256').update(spki).digest('hex');
}

/** Validates a user-given CA pin and returns it in lower case. */
export function parseCaHash(value: string): string {
  const trimmed = value.trim();
  if (!CA_HASH_PATTERN.test(trimmed)) {
    throw new HubTlsError(
      'INVALID_CA_HASH',
      `CA hash must be 'sha256:' followed by 64 hex characters (as printed by the hub), got ${JSON.stringify(value.slice(0, 100))}`,
    );
  }
  return trimmed.toLowerCase();
}

/**
 * TLS options for connecting to the hub: verify against `caPem` (or the
 * system roots when absent). `insecureSkipVerify` turns verification off and
 * exists only for an operator's explicit opt-in (a flag they typed); never
 * default to it or set it from a failed verification.
 */
export function tlsOptionsForHub(options: { caPem?: string; insecureSkipVerify?: boolean }): {
  ca?: string;
  rejectUnauthorized: boolean;
} {
  const rejectUnauthorized = options.insecureSkipVerify !== true;
  return options.caPem === undefined ? { rejectUnauthorized } : { ca: options.caPem, rejectUnauthorized };
}

/** The context made for the CA last dialled with: an agent trusts one CA, and dials it on every reconnect. */
let lastContext: { ca: string; context: SecureContext } | undefined;

/**
 * TLS options that trust `ca` (PEM), as one SecureContext reused across
 * dials: made anew for each connection, parsing the CA took more of an
 * agent's reconnect than the handshake's own work.
 */
export function trustingCa(ca: string | undefined): { secureContext?: SecureContext } {
  if (ca === undefined || ca === '') return {};
  if (lastContext?.ca !== ca) lastContext = { ca, context: createSecureContext({ ca }) };
  return { secureContext: lastContext.context };
}
