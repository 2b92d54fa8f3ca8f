// Kubernetes naming rules, the one copy every part uses: DNS-1123 labels
// (namespaces, containers, and our cluster, user and add-on names),
// DNS-1123 subdomains (most object names), label keys and values, with
// their lengths as named constants. The patterns come as strings for
// typebox schemas and as regular expressions for code.

/** Longest DNS-1123 label: a namespace, a container, a cluster or user name. */
export const MAX_DNS_LABEL_CHARS = 63;
/** Longest DNS-1123 subdomain: most object names. */
export const MAX_DNS_SUBDOMAIN_CHARS = 253;
/** Longest Helm release name, so our add-on names: Helm's own limit. */
export const MAX_RELEASE_NAME_CHARS = 53;
/** Longest label value, and the name part of a label key. */
export const MAX_LABEL_NAME_CHARS = 63;
/** Longest label selector any part of Uplink parses itself (inventory queries, logs by selector); a bound on work per query. */
export const MAX_LABEL_SELECTOR_CHARS = 4096;

/** DNS-1123 label, length bounded: lower-case letters, digits and `-`, starting and ending alphanumeric. */
export const DNS_LABEL_PATTERN = `^[a-z0-9]([-a-z0-9]{0,${MAX_DNS_LABEL_CHARS - 2}}[a-z0-9])?$`;
/** DNS-1123 subdomain (dot-separated labels); check its length with MAX_DNS_SUBDOMAIN_CHARS. */
export const DNS_SUBDOMAIN_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
/** A label value (may be empty), or the name part of a label key. */
const LABEL_NAME_PATTERN = `[A-Za-z0-9]([-A-Za-z0-9_.]{0,${MAX_LABEL_NAME_CHARS - 2}}[A-Za-z0-9])?`;

const DNS_LABEL = new RegExp(DNS_LABEL_PATTERN);
const DNS_SUBDOMAIN = new RegExp(DNS_SUBDOMAIN_PATTERN);
const LABEL_NAME = new RegExp(`^${LABEL_NAME_PATTERN}$`);

export function isDnsLabel(text: string): boolean {
  return DNS_LABEL.test(text);
}

export function isDnsSubdomain(text: string): boolean {
  return text.length <= MAX_DNS_SUBDOMAIN_CHARS && DNS_SUBDOMAIN.test(text);
}

/** A Helm release name (and so an add-on name): a DNS-1123 label of at most 53 characters. */
export function isReleaseName(text: string): boolean {
  return text.length <= MAX_RELEASE_NAME_CHARS && DNS_LABEL.test(text);
}

/** The name part of a label key, or a non-empty label value. */
export function isLabelName(text: string): boolean {
  return LABEL_NAME.test(text);
}

/** A label key: an optional DNS-subdomain prefix and `/`, then a name. */
export function isLabelKey(text: string): boolean {
  const slash = text.lastIndexOf('/');
  if (slash === -1) return isLabelName(text);
  return isDnsSubdomain(text.slice(0, slash)) && isLabelName(text.slice(slash + 1));
}

/** IANA service names, as Kubernetes validates a port's name: 1-15 of a-z, 0-9 and '-', a letter among them, no '--', no '-' at either end. */
const PORT_NAME = /^(?=.{1,15}$)(?=.*[a-z])[a-z0-9]+(-[a-z0-9]+)*$/;

/** A port's name (an IANA service name), as a Service or container port names it. */
export function isPortName(text: string): boolean {
  return PORT_NAME.test(text);
}

/** A label value: empty, or a label name. */
export function isLabelValue(text: string): boolean {
  return text === '' || isLabelName(text);
}
