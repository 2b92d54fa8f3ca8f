// The certificate a hub replica shows its peers, both as the server of its
// peer port and as the client relaying to another's. It is issued by the
// hub's CA, like the serving certificate agents pin, so the CA is the one
// trust root of the tier; what sets a peer certificate apart is a URI name,
// `uplink-peer://<replica id>`, which the serving certificate never carries.
// Checking that mark on both ends means a stolen or misused serving
// certificate (or any other leaf of the CA) cannot open a peer connection,
// and a relaying replica knows it reached the replica it meant to: a stale
// address now answering as another replica is refused, never served.
import { createPrivateKey, X509Certificate, webcrypto, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import type { PeerCertificate } from 'node:tls';
import { UplinkError } from '../../util/errors.ts';
import { x509 } from '../x509.ts';

/** The scheme of the URI name that marks a peer certificate. */
export const PEER_URI_SCHEME = 'uplink-peer';
/** How long a peer certificate is valid: short, since replicas renew their own. */
export const PEER_CERT_VALIDITY_MS = 7 * 24 * 60 * 60 * 1000;
/** notBefore is set this far back so a peer with a slow clock accepts a fresh certificate. */
const CLOCK_SKEW_MS = 60 * 60 * 1000;
/** A replica id, as --replica-id takes it: one DNS-like name. */
const REPLICA_ID = /^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/;
/** The marker in the `subjectaltname` text of a TLS peer certificate (Node separates entries with ', '). */
const MARKER_IN_SAN = new RegExp(`(?:^|, )URI:${PEER_URI_SCHEME}://([a-z0-9.-]{1,63})(?=, |$)`, 'g');
const PEER_KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' };

/** A peer certificate and its key, PEM. */
export interface PeerCredentials {
  /** The hub's CA certificate: the only root a peer connection is checked against. */
  caPem: string;
  /** This replica's peer certificate (leaf only). */
  certPem: string;
  /** Its private key, PKCS#8. */
  keyPem: string;
}

export interface IssuePeerCertificateOptions {
  /** The hub's CA certificate, PEM. */
  caPem: string;
  /** The hub's CA private key, PEM (EC P-256/P-384 or RSA). */
  caKeyPem: string;
  /** This replica's id; carried as `uplink-peer://<id>`. */
  replicaId: string;
  /** The URL the other replicas reach this one at; its host (DNS name or IP) is the certificate's server name. */
  peerUrl: string;
  /** The current time; tests move it. */
  now?: Date;
}

/** A peer certificate that cannot be issued from what was given; the message names the input. */
export class PeerCertificateError extends UplinkError {
  constructor(message: string, options?: ErrorOptions) {
    super('PEER_CERTIFICATE_INVALID', message, options);
  }
}

/**
 * Issues this replica's peer certificate from the hub's CA: usable for
 * serverAuth and clientAuth, valid PEER_CERT_VALIDITY_MS (never past the
 * CA), named after the peer URL's host and marked with the replica id.
 */
export async function issuePeerCertificate(options: IssuePeerCertificateOptions): Promise<PeerCredentials> {
  const now = options.now ?? new Date();
  if (!REPLICA_ID.test(options.replicaId)) throw new PeerCertificateError(`replicaId '${options.replicaId}' is not a replica id (a-z, 0-9, '.', '-', at most 63)`);
  const host = peerHostOf(options.peerUrl);
  const ca = readCa(options.caPem, options.caKeyPem);
  const caCert = new x509.X509Certificate(options.caPem);
  const signingKey = ca.key.toCryptoKey(ca.importAlgorithm, false, ['sign']);
  const keys = await webcrypto.subtle.generateKey(PEER_KEY_ALGORITHM, true, ['sign', 'verify']);
  const expires = new Date(now.getTime() + PEER_CERT_VALIDITY_MS);
  const cert = await x509.X509CertificateGenerator.create({
    subject: `CN=Uplink hub replica ${options.replicaId}`,
    issuer: caCert.subjectName,
    publicKey: keys.publicKey,
    signingKey,
    notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
    notAfter: expires < caCert.notAfter ? expires : caCert.notAfter,
    signingAlgorithm: ca.signingAlgorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: isIP(host) === 0 ? 'dns' : 'ip', value: host },
        { type: 'url', value: `${PEER_URI_SCHEME}://${options.replicaId}` },
      ]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
    ],
  });
  const der = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { caPem: options.caPem, certPem: withNewline(cert.toString('pem')), keyPem: withNewline(x509.PemConverter.encode(der, 'PRIVATE KEY')) };
}

/** The host of a peer URL as a certificate names it: lower case, IPv6 without brackets. */
export function peerHostOf(peerUrl: string): string {
  let url: URL;
  try {
    url = new URL(peerUrl);
  } catch (error) {
    throw new PeerCertificateError(`peerUrl '${peerUrl}' is not a URL`, { cause: error });
  }
  if (url.protocol !== 'https:' || url.hostname === '') throw new PeerCertificateError(`peerUrl '${peerUrl}' is not an https:// URL with a host`);
  return url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
}

interface CaKey {
  key: KeyObject;
  importAlgorithm: webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams;
  signingAlgorithm: webcrypto.EcdsaParams | webcrypto.Algorithm;
}

/** The CA's key with the algorithms to sign with it; refuses a key that is not the certificate's, or a certificate that is not a CA. */
function readCa(caPem: string, caKeyPem: string): CaKey {
  let cert: X509Certificate;
  let key: KeyObject;
  try {
    cert = new X509Certificate(caPem);
    key = createPrivateKey(caKeyPem);
  } catch (error) {
    throw new PeerCertificateError('the hub CA certificate or key does not parse as PEM', { cause: error });
  }
  if (!cert.ca) throw new PeerCertificateError('the hub CA certificate is not a CA certificate');
  if (!cert.checkPrivateKey(key)) throw new PeerCertificateError('the hub CA key does not belong to the CA certificate');
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType === 'ec' && (curve === 'prime256v1' || curve === 'secp384r1')) {
    const p384 = curve === 'secp384r1';
    return {
      key, importAlgorithm: { name: 'ECDSA', namedCurve: p384 ? 'P-384' : 'P-256' },
      signingAlgorithm: { name: 'ECDSA', hash: p384 ? 'SHA-384' : 'SHA-256' },
    };
  }
  if (key.asymmetricKeyType === 'rsa') {
    return { key, importAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5' } };
  }
  throw new PeerCertificateError(`the hub CA key is ${key.asymmetricKeyType ?? 'unknown'}${curve === undefined ? '' : ` ${curve}`}; peer certificates need EC P-256, P-384 or RSA`);
}

/**
 * The replica id a certificate is marked with, when it carries exactly one
 * `uplink-peer://` name; undefined for any other certificate (the hub's
 * serving certificate, an agent's, none). Takes what Node's TLS gives
 * (getPeerCertificate) or a parsed certificate. Never throws.
 */
export function peerIdOf(cert: Pick<PeerCertificate, 'subjectaltname'> | X509Certificate | undefined): string | undefined {
  const san = cert instanceof X509Certificate ? cert.subjectAltName : cert?.subjectaltname;
  if (typeof san !== 'string') return undefined;
  const ids = [...san.matchAll(MARKER_IN_SAN)].map((match) => match[1]);
  return ids.length === 1 && ids[0] !== undefined && REPLICA_ID.test(ids[0]) ? ids[0] : undefined;
}

/**
 * Who is on the other end of a peer connection: the replica id when the TLS
 * layer verified its certificate against the hub CA (`authorized`) and the
 * certificate is marked as a peer's; undefined otherwise.
 */
export function verifiedPeerId(socket: { authorized: boolean; getPeerCertificate(): PeerCertificate | object | null }): string | undefined {
  if (!socket.authorized) return undefined;
  const cert = socket.getPeerCertificate();
  return cert !== null && 'subjectaltname' in cert ? peerIdOf(cert) : undefined;
}

/** Whether a peer certificate should be replaced: past half its validity, or unreadable. */
export function peerCertificateDue(certPem: string, now: Date = new Date()): boolean {
  try {
    const cert = new X509Certificate(certPem);
    const half = (cert.validToDate.getTime() - cert.validFromDate.getTime()) / 2;
    return cert.validToDate.getTime() - now.getTime() < half;
  } catch {
    return true;
  }
}

function withNewline(pem: string): string {
  return pem.endsWith('\n') ? pem : `${pem}\n`;
}

/** How often a replica checks whether its peer certificate is due. */
export const PEER_RENEW_CHECK_MS = 60 * 60 * 1000;

export interface PeerRenewalOptions {
  /** The certificate in use now. */
  current: PeerCredentials;
  /** Issues a fresh one (issuePeerCertificate with the hub's CA). */
  issue: () => Promise<PeerCredentials>;
  /** Puts a fresh one in use (the peer port's and the relay's setCredentials). */
  apply: (credentials: PeerCredentials) => void;
  /** A renewal that failed; tried again at the next check, well before the certificate expires. */
  onError: (error: unknown) => void;
  checkEveryMs?: number;
  now?: () => Date;
}

/** Renews the peer certificate once it is past half its validity; returns a function that stops the checks. */
export function renewPeerCredentials(options: PeerRenewalOptions): () => void {
  let current = options.current;
  let running = false;
  const now = options.now ?? ((): Date => new Date());
  const check = (): void => {
    if (running || !peerCertificateDue(current.certPem, now())) return;
    running = true;
    options.issue().then((fresh) => {
      current = fresh;
      options.apply(fresh);
    }, options.onError).finally(() => { running = false; });
  };
  const timer = setInterval(check, options.checkEveryMs ?? PEER_RENEW_CHECK_MS);
  timer.unref();
  return () => { clearInterval(timer); };
}
