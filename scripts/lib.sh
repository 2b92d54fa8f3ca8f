# Shared by bin/uplink and the setup, test and demo scripts: where the cache
# lives and which Node runs Uplink. Sourced, never executed.

UPLINK_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
UPLINK_CACHE=${UPLINK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/uplink}

# Node 24 LTS from the npm registry (package node-linux-<arch>) when the
# system node is older. Integrity values are the registry's own dist.integrity.
UPLINK_NODE_VERSION=24.21.0
UPLINK_NODE_INTEGRITY_x64=sha512-3nULszZ5X0fciYpG0t6TrdApJzAn8+FlINP6OiMX7V8HrvpATPN936U1LlReOJriLRa4e8yEqQBYCnLyPNAs7Q==
UPLINK_NODE_INTEGRITY_arm64=sha512-FpJRPEz2OvvTLfjIOlNGFY9JLPMKgl5m+d4oGYBLg24kJ1mmvN1Zl/HPJgF4HDaJ51ISev1l1cRZ/DM+keXW5g==
# npm itself, only fetched when the machine has no npm at all.
UPLINK_NPM_VERSION=11.21.2
UPLINK_NPM_INTEGRITY=sha512-7HPApk+AflMUavSseL1Pm6CnYqMIHk53x+KmuhqmTDqPkjPMgxIpTPcTqsE91EKNw4gFBJV9fnXiSdGm1DXq9A==
UPLINK_NODE_MIN_MAJOR=24

uplink_node_arch() {
  case $(uname -m) in
    x86_64 | amd64) echo x64 ;;
    aarch64 | arm64) echo arm64 ;;
    *) echo "unsupported-$(uname -m)" ;;
  esac
}

uplink_cached_node() { echo "$UPLINK_CACHE/node/$UPLINK_NODE_VERSION-$(uplink_node_arch)/bin/node"; }

# Prints the path of a node >= 24: the one on PATH if new enough, else the
# cached download. Prints nothing when neither exists.
uplink_find_node() {
  local n major
  n=$(command -v node 2>/dev/null || true)
  if [ -n "$n" ]; then
    major=$("$n" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
    if [ "$major" -ge "$UPLINK_NODE_MIN_MAJOR" ] 2>/dev/null; then echo "$n"; return; fi
  fi
  n=$(uplink_cached_node)
  if [ -x "$n" ]; then echo "$n"; fi
}
