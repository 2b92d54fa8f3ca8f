// The commands an operator runs to connect a cluster, printed once by
// `uplink clusters create` (and by rotate-token, for agents not linked).

/** Namespace and release the install command uses; the agent chart defaults match. */
export const AGENT_NAMESPACE = 'uplink-system';
export const AGENT_RELEASE = 'uplink-agent';

export interface InstallCommandInput {
  chart: string;
  hubUrl: string;
  token: string;
  /** The hub CA's pin; absent when the hub serves plain HTTP behind a proxy with a public certificate. */
  caHash: string | undefined;
}

export interface InstallCommands {
  /** Installs the agent into the cluster with Helm. */
  helm: string;
  /** Runs the agent outside the cluster, e.g. on a laptop with a kubeconfig. */
  agent: string;
}

/** Single-quotes a value for POSIX shells. */
export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

export function installCommands(input: InstallCommandInput): InstallCommands {
  const q = shellQuote;
  const helm = [
    `helm upgrade --install ${AGENT_RELEASE} ${q(input.chart)}`,
    `--namespace ${AGENT_NAMESPACE} --create-namespace`,
    `--set hub.url=${q(input.hubUrl)}`,
    ...(input.caHash ? [`--set hub.caHash=${q(input.caHash)}`] : []),
    `--set token.value=${q(input.token)}`,
  ].join(' \\\n  ');
  const agent = [
    `uplink agent --hub-url ${q(input.hubUrl)}`,
    ...(input.caHash ? [`--hub-ca-hash ${q(input.caHash)}`] : []),
    `--token ${q(input.token)} --kubeconfig ~/.kube/config`,
  ].join(' \\\n  ');
  return { helm, agent };
}
