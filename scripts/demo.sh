#!/usr/bin/env bash
# The demo, from a fresh machine: setup (idempotent), then a real local
# Kubernetes cluster. Stays in the foreground; Ctrl-C stops what it started.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

"$UPLINK_ROOT/scripts/setup.sh"
cluster=$UPLINK_ROOT/test/cluster/cluster
started=0
if ! "$cluster" status >/dev/null 2>&1; then
  "$cluster" start >/dev/null
  started=1
fi
kubeconfig=$("$cluster" kubeconfig)
bin=$("$cluster" bin)

stop() {
  if [ $started = 1 ]; then "$cluster" stop; fi
  exit 0
}
trap stop INT TERM

version=$("$bin/kubectl" --kubeconfig "$kubeconfig" version -o json |
  sed -n 's/.*"gitVersion": "\(v[^"]*\)".*/\1/p' | tail -1)
if [ $started = 1 ]; then
  leaving="Press Ctrl-C to stop the cluster."
else
  leaving="The cluster was already running; Ctrl-C leaves it running."
fi

cat <<MSG

Uplink demo is up.

  A real Kubernetes $version control plane runs on 127.0.0.1 with 3 kwok nodes:

    export KUBECONFIG=$kubeconfig
    export PATH=$bin:\$PATH
    kubectl get nodes
    kubectl create deployment web --image=registry.invalid/web:1 --replicas=3
    kubectl get pods -w

  The hub and the agent join this demo as they are built (see README.md).

$leaving
MSG

while true; do
  sleep 3600 &
  wait $! || true
done
