#!/usr/bin/env bash
# The demo, from a fresh machine: setup (idempotent), a real local Kubernetes
# cluster, a hub, an agent linking the cluster to the hub with a
# ServiceAccount token (as it would have in a pod), and a kubeconfig for
# kubectl through the hub. Stays in the foreground; Ctrl-C stops what it started.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

HUB_PORT=${UPLINK_DEMO_HUB_PORT:-8443}
CHARTS_PORT=${UPLINK_DEMO_CHARTS_PORT:-8879}
DEMO=${UPLINK_DEMO_DIR:-${TMPDIR:-/tmp}/uplink-demo-$(id -u)}
AGENT_NAMESPACE=uplink-system

"$UPLINK_ROOT/scripts/setup.sh"
cluster=$UPLINK_ROOT/test/cluster/cluster
uplink=$UPLINK_ROOT/bin/uplink
started_cluster=0
pids=()

stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ $started_cluster = 1 ]; then "$cluster" stop; fi
  exit 0
}
trap stop INT TERM EXIT

die() { echo "demo: $*" >&2; exit 1; }

wait_for_log() { # FILE PATTERN SECONDS
  local deadline=$((SECONDS + $3))
  until grep -q "$2" "$1" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || { tail -20 "$1" >&2; die "timed out waiting for '$2' in $1"; }
    sleep 0.2
  done
}

if ! "$cluster" status >/dev/null 2>&1; then
  "$cluster" start >/dev/null
  started_cluster=1
fi
eval "$("$cluster" env)"
bin=$("$cluster" bin)
(exec 3<>"/dev/tcp/127.0.0.1/$HUB_PORT") 2>/dev/null && die "port $HUB_PORT is in use; set UPLINK_DEMO_HUB_PORT"
(exec 3<>"/dev/tcp/127.0.0.1/$CHARTS_PORT") 2>/dev/null && die "port $CHARTS_PORT is in use; set UPLINK_DEMO_CHARTS_PORT"

rm -rf "$DEMO" && mkdir -p "$DEMO" && chmod 700 "$DEMO"
export UPLINK_CLI_CONFIG=$DEMO/cli.json
node=$(uplink_find_node)

# A Helm chart repository of the example charts, for the demo's add-on.
mkdir -p "$DEMO/charts"
export HELM_CACHE_HOME=$DEMO/helm/cache HELM_CONFIG_HOME=$DEMO/helm/config HELM_DATA_HOME=$DEMO/helm/data
for chart in "$UPLINK_ROOT"/examples/charts/*/; do "$bin/helm" package "$chart" -d "$DEMO/charts" >/dev/null; done
"$bin/helm" repo index "$DEMO/charts" --url "http://127.0.0.1:$CHARTS_PORT"
"$node" "$UPLINK_ROOT/test/cluster/serve-dir.ts" "$DEMO/charts" "$CHARTS_PORT" >"$DEMO/charts.log" 2>&1 &
pids+=($!)
wait_for_log "$DEMO/charts.log" 'serving' 10

# The agent's identity in the cluster: a ServiceAccount and a token minted by
# the TokenRequest API, exactly what the agent's pod would get.
kubectl create namespace "$AGENT_NAMESPACE" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl -n "$AGENT_NAMESPACE" create serviceaccount uplink-agent --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl create clusterrolebinding uplink-agent --clusterrole=cluster-admin \
  --serviceaccount="$AGENT_NAMESPACE:uplink-agent" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
sa_token=$(kubectl -n "$AGENT_NAMESPACE" create token uplink-agent --duration=24h)
server=$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')
kubectl config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' | base64 -d >"$DEMO/cluster-ca.crt"
agent_kubeconfig=$DEMO/agent.kubeconfig
KUBECONFIG=$agent_kubeconfig kubectl config set-cluster demo --server="$server" --certificate-authority="$DEMO/cluster-ca.crt" --embed-certs >/dev/null
KUBECONFIG=$agent_kubeconfig kubectl config set-credentials uplink-agent --token="$sa_token" >/dev/null
KUBECONFIG=$agent_kubeconfig kubectl config set-context demo --cluster=demo --user=uplink-agent >/dev/null
KUBECONFIG=$agent_kubeconfig kubectl config use-context demo >/dev/null

"$uplink" hub --listen "127.0.0.1:$HUB_PORT" --data-dir "$DEMO/hub" --public-url "https://localhost:$HUB_PORT" >"$DEMO/hub.log" 2>&1 &
pids+=($!)
wait_for_log "$DEMO/hub.log" '"hub listening"' 30
ca_hash=$(grep -o 'sha256:[0-9a-f]\{64\}' "$DEMO/hub.log" | head -1)
"$uplink" login "https://localhost:$HUB_PORT" --token-file "$DEMO/hub/admin-token" --ca-hash "$ca_hash" >/dev/null
"$uplink" clusters create local --label env=demo -o json >"$DEMO/cluster.json"
cluster_token=$(sed -n 's/.*"token": "\(upc_[^"]*\)".*/\1/p' "$DEMO/cluster.json")
printf '%s\n' "$cluster_token" >"$DEMO/cluster-token" && chmod 600 "$DEMO/cluster-token"
rm -f "$DEMO/cluster.json"

"$uplink" agent --hub-url "https://localhost:$HUB_PORT" --hub-ca-hash "$ca_hash" --token-file "$DEMO/cluster-token" \
  --kubeconfig "$agent_kubeconfig" --state-file "$DEMO/agent-state.json" --health-listen 127.0.0.1:0 \
  --helm "$bin/helm" --namespace "$AGENT_NAMESPACE" >"$DEMO/agent.log" 2>&1 &
pids+=($!)
wait_for_log "$DEMO/agent.log" '"linked to the hub"' 30
sleep 1
# An add-on: the example web app from the local chart repository, installed
# by the agent with helm (kwok runs its pods).
"$uplink" addons set local webapp --chart-repo "http://127.0.0.1:$CHARTS_PORT" --chart webapp --chart-version 0.1.0 \
  -n demo-web --wait >/dev/null
# kubectl through the hub: a kubeconfig with the hub URL, the hub CA and the
# admin's API token; no cluster credential in it.
"$uplink" kubeconfig local --file "$DEMO/kubeconfig" >/dev/null

cat <<MSG

Uplink demo is up: a Kubernetes $(kubectl version -o json | sed -n 's/.*"gitVersion": "\(v[^"]*\)".*/\1/p' | tail -1) cluster with 3 kwok nodes,
a hub on https://localhost:$HUB_PORT, and an agent linking the cluster to it.

$("$uplink" clusters list -o wide)

The dashboard: https://localhost:$HUB_PORT/ (the hub's own CA signs its certificate: accept it in
the browser, or pin it with $DEMO/hub/tls/ca.crt). Sign in with the admin token in
$DEMO/hub/admin-token.

kubectl through the hub:

$("$bin/kubectl" --kubeconfig "$DEMO/kubeconfig" get nodes 2>&1)

Try, in another shell:

  export UPLINK_CLI_CONFIG=$DEMO/cli.json PATH=$bin:\$PATH
  export KUBECONFIG=$DEMO/kubeconfig    # kubectl through the hub, as the hub's admin
  kubectl create deployment web --image=registry.invalid/web:1 --replicas=3
  kubectl get pods -w
  kubectl exec -it deploy/web -- sh     # runs on this host: kwok's exec
  $uplink clusters list                 # live status; heartbeats every 15 s
  $uplink get local pods -w             # live rows from the agent's inventory
  $uplink logs local -l app=web -f      # several pods' logs, prefixed [pod/container]
  $uplink addons list local            # the webapp add-on, installed by the agent with helm
  $uplink addons set local webapp --chart-repo http://127.0.0.1:$CHARTS_PORT --chart webapp \\
      --chart-version 0.1.0 -n demo-web --values-inline 'replicaCount: 4' --wait
  $uplink addons history local webapp   # and: addons rollback local webapp 1, addons status local webapp
  $uplink audit --since 10m             # every request that went through the hub

Logs: $DEMO/hub.log and $DEMO/agent.log. Press Ctrl-C to stop.
MSG

while true; do
  sleep 3600 &
  wait $! || true
done
