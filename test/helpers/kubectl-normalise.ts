// The normalisers of the kubectl comparison suite (kubectl-compare.ts): each
// rewrites one thing that legitimately differs between a command run straight
// at the API server and through the hub, and nothing else. docs/kubectl.md
// ("Compatibility") lists each with its reason.
import type { Normaliser } from './kubectl-compare.ts';

/** A kubectl human duration (`7s`, `2m3s`, `5d`, `2y3d`) standing alone in a table cell. */
const AGE = /(?<=^|\s|\()(?:\d+[smhdy]){1,2}(?=\s|$|\))/gm;

/**
 * Ages in table output: the two runs print at slightly different instants, so
 * `59s` and `1m` may meet. Column padding follows the widest cell, so runs of
 * spaces are made one width too (the cells are still compared).
 */
export const ages: Normaliser = (text) => text.replace(AGE, '<age>').replace(/ {2,}/g, '  ');

/**
 * What the API server makes anew for each object, in twin objects: uid,
 * resourceVersion (`Resource Version` in describe of a custom resource) and
 * every time (RFC 3339 in JSON and YAML, RFC 1123 in describe). Used only where each side has its own object.
 */
export const identity: Normaliser = (text) => text
  .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uid>')
  .replace(/(resourceVersion\\?"?:\s*\\?"?|Resource Version:\s+)\d+/g, '$1<rv>')
  .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)/g, '<time>')
  .replace(/[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [+-]\d{4}/g, '<time>');

/** The alphabet of the API server's generated name suffixes (k8s.io/apimachinery/pkg/util/rand). */
const GENERATED = '[bcdfghjklmnpqrstvwxz2456789]';

/**
 * The random part of names the API server generates from `prefix`
 * (`generateName`, a Deployment's pods `web-<template hash>-<5>`): twin
 * objects get different ones.
 */
export function generated(prefix: string): Normaliser {
  const escaped = prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = new RegExp(`\\b(${escaped}(?:[a-z0-9]{6,10}-)?)${GENERATED}{5}\\b`, 'g');
  return (text) => text.replace(pattern, '$1<random>');
}

/**
 * A Deployment's ReplicaSet names, `<prefix><pod template hash>`: after
 * `rollout restart` the template holds the restart's time, so the twins'
 * newest ReplicaSets get different hashes (and sort differently).
 */
export function templateHashes(prefix: string): Normaliser {
  const escaped = prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = new RegExp(`\\b${escaped}[a-z0-9]{6,10}\\b`, 'g');
  return (text) => text.replace(pattern, `${prefix}<template-hash>`);
}

/** Addresses the cluster hands out (pod IPs from kwok, ClusterIPs): twin objects get different ones. */
export const addresses: Normaliser = (text) => text.replace(/\b10\.(?:244|96)\.\d{1,3}\.\d{1,3}\b/g, '<address>');

/**
 * klog's line header (`E1207 07:50:00.123456   12345 file.go:12] `): a time
 * and kubectl's process id.
 */
export const klog: Normaliser = (text) => text.replace(/^([IWEF])\d{4} \d\d:\d\d:\d\d\.\d{6}\s+\d+ [\w.-]+:\d+\] /gm, '$1 ');

/** Local ports kubectl picked itself (`port-forward :8080`): `Forwarding from`, `Handling connection for`, errors. */
export const localPorts: Normaliser = (text) => text
  .replace(/(127\.0\.0\.1|\[::1\]):\d+/g, '$1:<port>')
  .replace(/(Handling connection for|error occurred forwarding) \d+/g, '$1 <port>');

/** Only the lines that match: for output that also carries lines other tests write (kwok's shared pod log). */
export function linesMatching(pattern: RegExp): Normaliser {
  return (text) => text.split('\n').filter((line) => pattern.test(line)).join('\n');
}

/** Each run of identical lines as one line: a retry printed once per interval, however many intervals passed. */
export const repeats: Normaliser = (text) => text.split('\n').filter((line, i, all) => i === 0 || line !== all[i - 1]).join('\n');

/** Drops the lines that match: progress a command prints as events happen to arrive. */
export function withoutLines(pattern: RegExp): Normaliser {
  return (text) => text.split('\n').filter((line) => !pattern.test(line)).join('\n');
}

/** A fixed string of one side, replaced by the same placeholder on both. */
export function sideValue(values: { api: string; hub: string }, placeholder: string): Normaliser {
  return (text, side) => text.replaceAll(values[side.name], placeholder);
}

/**
 * The lines in sorted order: kubectl reads the logs of several pods or
 * containers in an order of its own choosing (a Go map's, or in parallel
 * with -f), different from one run to the next even straight at the API server.
 */
export const sortedLines: Normaliser = (text) => text.split('\n').filter((line) => line !== '').sort().join('\n');

/** The text up to the end of the last line containing `marker`: a follow stopped later may have read more. */
export function upToLast(marker: string): Normaliser {
  return (text) => {
    const at = text.lastIndexOf(marker);
    if (at < 0) return text;
    const end = text.indexOf('\n', at);
    return end < 0 ? text : text.slice(0, end + 1);
  };
}
