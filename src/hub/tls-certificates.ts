// The hub's own TLS material: a small CA kept on disk (agents pin it) and a
// server certificate it issues and renews. Generation needs @peculiar/x509,
// which only the hub loads; the agent's side of trust is src/link/tls.ts.
import type { X509Certificate as PeculiarCertificate } from '@peculiar/x509';
import { createPrivateKey, X509Certificate, webcrypto } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { HubTlsError, caHashOf } from '../link/tls.ts';
import { x509 } from './x509.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const CA_COMMON_NAME = 'Uplink hub CA';
const SERVER_COMMON_NAME = 'Uplink hub';
const CA_VALIDITY_YEARS = 10;
const SERVER_VALIDITY_YEARS = 1;
/** The server certificate is re-issued when it expires sooner than this. */
const SERVER_RENEW_BEFORE_MS = 30 * DAY_MS;
/** notBefore is set this far back so agents with a slow clock accept a fresh certificate. */
const CLOCK_SKEW_MS = 60 * 60 * 1000;
const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' };
const DEFAULT_DNS_NAMES = ['localhost'];
const DEFAULT_IP_ADDRESSES = ['127.0.0.1', '::1'];
const DNS_NAME_PATTERN = /^(\*\.)?[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/;
const FILES = { caCert: 'ca.crt', caKey: 'ca.key', serverCert: 'server.crt', serverKey: 'server.key' } as const;
const DIR_MODE = 0o700;
const KEY_FILE_MODE = 0o600;
const CERT_FILE_MODE = 0o644;

/** The hub's TLS material, as PEM. */
export interface HubCertificates {
  /** The CA certificate, to hand to agents (or pin by caHash). */
  caPem: string;
  /** The server certificate followed by the CA certificate. */
  certPem: string;
  /** The server's private key, PKCS#8. */
  keyPem: string;
  /** caHashOf(caPem), for `--ca-hash` on agents. */
  caHash: string;
  /** Whether this call generated the CA or (re-)issued the server certificate. */
  created: boolean;
}

export interface EnsureHubCertificatesOptions {
  /** Where ca.crt, ca.key, server.crt and server.key live; created 0700 if missing. */
  dir: string;
  /** Extra DNS names for the server certificate (localhost and os.hostname() are always in). */
  dnsNames?: string[];
  /** Extra IP addresses for the server certificate (127.0.0.1 and ::1 are always in). */
  ipAddresses?: string[];
  /** The current time; tests move it. */
  now?: Date;
}

interface KeyPairPem {
  certPem: string;
  keyPem: string;
}

interface ServerNames {
  dns: string[];
  ip: string[];
}

/**
 * Loads the hub's CA and server certificate from `dir`, generating what is
 * missing. The CA is never replaced once present (agents pin it); the server
 * certificate is re-issued by it when it is near expiry, lacks a requested
 * name, or does not belong to the CA or to server.key.
 */
export async function ensureHubCertificates(options: EnsureHubCertificatesOptions): Promise<HubCertificates> {
  const now = options.now ?? new Date();
  const names = serverNames(options);
  await mkdir(options.dir, { recursive: true, mode: DIR_MODE });
  let created = false;
  let ca = await loadPair(options.dir, FILES.caCert, FILES.caKey);
  if (!ca) {
    ca = await createCa(now);
    await writePair(options.dir, FILES.caCert, FILES.caKey, ca);
    created = true;
  }
  let server = await loadPair(options.dir, FILES.serverCert, FILES.serverKey);
  // Keys copied in or restored from a backup may be readable by others: private whatever they came with.
  await narrowKeys(options.dir);
  if (!server || needsReissue(server, ca.certPem, names, now)) {
    server = await issueServerCertificate(ca, names, now);
    await writePair(options.dir, FILES.serverCert, FILES.serverKey, server);
    created = true;
  }
  return {
    caPem: ca.certPem,
    certPem: server.certPem + ca.certPem,
    keyPem: server.keyPem,
    caHash: caHashOf(ca.certPem),
    created,
  };
}

function serverNames(options: EnsureHubCertificatesOptions): ServerNames {
  const dns = [...DEFAULT_DNS_NAMES, ...(options.dnsNames ?? [])].map((name) => name.toLowerCase().replace(/\.$/, ''));
  for (const name of dns) {
    if (!DNS_NAME_PATTERN.test(name) || isIP(name) !== 0) {
      throw new HubTlsError('INVALID_SAN', `dnsNames: '${name}' is not a DNS name (IP addresses go in ipAddresses)`);
    }
  }
  // The machine's hostname is a convenience; one that is not a valid DNS name is left out.
  const host = hostname().toLowerCase();
  if (DNS_NAME_PATTERN.test(host)) dns.push(host);
  const ip = [...DEFAULT_IP_ADDRESSES, ...(options.ipAddresses ?? [])];
  for (const address of ip) {
    if (isIP(address) === 0) {
      throw new HubTlsError('INVALID_SAN', `ipAddresses: '${address}' is not an IPv4 or IPv6 address`);
    }
  }
  return { dns: [...new Set(dns)], ip: [...new Set(ip)] };
}

/** Both files, undefined if neither exists; half a CA is an error rather than a reason to replace it. */
async function loadPair(dir: string, certFile: string, keyFile: string): Promise<KeyPairPem | undefined> {
  const [certPem, keyPem] = await Promise.all([readIfExists(join(dir, certFile)), readIfExists(join(dir, keyFile))]);
  if (certPem !== undefined && keyPem !== undefined) return { certPem, keyPem };
  if (certFile === FILES.caCert && (certPem !== undefined || keyPem !== undefined)) {
    const missing = certPem === undefined ? certFile : keyFile;
    throw new HubTlsError(
      'HUB_CA_INCOMPLETE',
      `${join(dir, missing)} is missing but its pair exists; restore it, or remove both to create a new CA (agents pinned to the old one must then be re-pinned)`,
    );
  }
  return undefined;
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function narrowKeys(dir: string): Promise<void> {
  for (const file of [FILES.caKey, FILES.serverKey]) {
    try {
      await chmod(join(dir, file), KEY_FILE_MODE);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}

/** Key first, each via rename, so a crash never leaves a certificate whose key is missing. */
async function writePair(dir: string, certFile: string, keyFile: string, pair: KeyPairPem): Promise<void> {
  await writeAtomically(join(dir, keyFile), pair.keyPem, KEY_FILE_MODE);
  await writeAtomically(join(dir, certFile), pair.certPem, CERT_FILE_MODE);
}

async function writeAtomically(path: string, content: string, mode: number): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, content, { mode, flag: 'w' });
  // The mode given to writeFile applies only when it creates the file: a leftover temporary keeps its own.
  await chmod(temporary, mode);
  await rename(temporary, path);
}

function needsReissue(server: KeyPairPem, caPem: string, names: ServerNames, now: Date): boolean {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(server.certPem);
    const ca = new X509Certificate(caPem);
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return true;
    if (!cert.checkPrivateKey(createPrivateKey(server.keyPem))) return true;
  } catch {
    return true; // unreadable: derived material, so issue a fresh one
  }
  if (cert.validToDate.getTime() - now.getTime() < SERVER_RENEW_BEFORE_MS) return true;
  const present = new Set(dnsNamesOf(server.certPem));
  return names.dns.some((name) => !present.has(name)) || names.ip.some((ip) => cert.checkIP(ip) === undefined);
}

function dnsNamesOf(certPem: string): string[] {
  const san = new x509.X509Certificate(certPem).getExtension(x509.SubjectAlternativeNameExtension);
  return (san?.names.items ?? []).filter((name) => name.type === 'dns').map((name) => name.value.toLowerCase());
}

async function createCa(now: Date): Promise<KeyPairPem> {
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${CA_COMMON_NAME}`,
    keys,
    notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
    notAfter: addYears(now, CA_VALIDITY_YEARS),
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: pemOf(cert), keyPem: await privateKeyPem(keys.privateKey) };
}

async function issueServerCertificate(ca: KeyPairPem, names: ServerNames, now: Date): Promise<KeyPairPem> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(ca.keyPem), KEY_ALGORITHM, false, ['sign']);
  const keys = await generateKeyPair();
  const expires = addYears(now, SERVER_VALIDITY_YEARS);
  const cert = await x509.X509CertificateGenerator.create({
    subject: `CN=${SERVER_COMMON_NAME}`,
    issuer: caCert.subjectName,
    publicKey: keys.publicKey,
    signingKey: caKey,
    notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
    // A certificate outliving its CA would only fail later, and more confusingly.
    notAfter: expires < caCert.notAfter ? expires : caCert.notAfter,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...names.dns.map((value) => ({ type: 'dns' as const, value })),
        ...names.ip.map((value) => ({ type: 'ip' as const, value })),
      ]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
    ],
  });
  return { certPem: pemOf(cert), keyPem: await privateKeyPem(keys.privateKey) };
}

async function generateKeyPair(): Promise<webcrypto.CryptoKeyPair> {
  return await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
}

async function privateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return withTrailingNewline(x509.PemConverter.encode(der, 'PRIVATE KEY'));
}

function pemOf(cert: PeculiarCertificate): string {
  return withTrailingNewline(cert.toString('pem'));
}

function withTrailingNewline(pem: string): string {
  return pem.endsWith('\n') ? pem : `${pem}\n`;
}

function addYears(date: Date, years: number): Date {
  const result = new Date(date);
  result.setUTCFullYear(result.getUTCFullYear() + years);
  return result;
}
