#!/usr/bin/env bash
# Installs everything Uplink's demo and tests need, idempotently:
# Debian packages, Node 24, the npm packages, the web dashboard's build, and
# the test cluster binaries. Each step is skipped when already done, so a
# second run takes seconds.
# --without-cluster skips the cluster binaries (for images and hosts that only
# run the hub or the agent); --with-browser adds Debian's Chromium, which the
# dashboard tests drive (scripts/test.sh passes it).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

say() { echo "setup: $*" >&2; }
die() { echo "setup: $*" >&2; exit 1; }

# Commands the scripts call, and the Debian package that provides each.
APT_NEEDS=(curl:curl openssl:openssl git:git tar:tar setsid:util-linux sha256sum:coreutils)

install_apt_packages() {
  local pair missing=()
  [ "$with_browser" = 1 ] && APT_NEEDS+=(chromium:chromium)
  for pair in "${APT_NEEDS[@]}"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  [ -f /etc/ssl/certs/ca-certificates.crt ] || missing+=(ca-certificates)
  # The allocator bin/uplink runs the hub on (it gives back what closed links freed).
  [ -f "/usr/lib/$(uname -m)-linux-gnu/libmimalloc.so.2" ] || missing+=(libmimalloc2.0)
  [ "$with_browser" = 0 ] || [ -d /usr/share/fonts/truetype/dejavu ] || missing+=(fonts-dejavu-core)
  # The tests run their own PostgreSQL and HAProxy; Debian puts the server
  # binaries in /usr/lib/postgresql/<version>/bin and haproxy in /usr/sbin,
  # neither of them on an ordinary user's PATH.
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
  [ -x /usr/sbin/haproxy ] || command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
  [ ${#missing[@]} -eq 0 ] && return
  command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and there is no apt-get to install them"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  say "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  [[ " ${missing[*]} " != *" postgresql "* ]] || no_system_postgres_cluster "$sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Debian's postgresql package creates and starts a "main" cluster on port
# 5432 unless postgresql-common is told not to (as the official postgres
# image does): the tests start their own servers, so none is made.
no_system_postgres_cluster() {
  local sudo=$1
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql-common >/dev/null
  $sudo sed -ri 's/^#?[[:space:]]*create_main_cluster[[:space:]]*=.*/create_main_cluster = false/' /etc/postgresql-common/createcluster.conf
}

registry() {
  local r=""
  command -v npm >/dev/null 2>&1 && r=$(npm config get registry 2>/dev/null || true)
  r=${r:-https://registry.npmjs.org/}
  echo "${r%/}"
}

# fetch_verified URL INTEGRITY FILE: download and check the registry's sha512.
fetch_verified() {
  local url=$1 want=$2 file=$3 got
  curl -fsSL --retry 3 --connect-timeout 20 -o "$file" "$url" || die "could not download $url"
  got="sha512-$(openssl dgst -sha512 -binary "$file" | base64 -w0)"
  [ "$got" = "$want" ] || die "integrity mismatch for $url (want $want, got $got)"
}

install_node() {
  [ -n "$(uplink_find_node)" ] && return
  local arch integrity_var dest tmp
  arch=$(uplink_node_arch)
  integrity_var=UPLINK_NODE_INTEGRITY_$arch
  [ -n "${!integrity_var:-}" ] || die "no Node $UPLINK_NODE_VERSION build is pinned for $(uname -m)"
  dest=$(dirname "$(dirname "$(uplink_cached_node)")")
  say "installing Node $UPLINK_NODE_VERSION ($arch) from the npm registry into $dest"
  tmp=$(mktemp -d)
  fetch_verified "$(registry)/node-linux-$arch/-/node-linux-$arch-$UPLINK_NODE_VERSION.tgz" "${!integrity_var}" "$tmp/node.tgz"
  tar -xzf "$tmp/node.tgz" -C "$tmp"
  mkdir -p "$(dirname "$dest")"
  rm -rf "$dest" && mv "$tmp/package" "$dest"
  rm -rf "$tmp"
}

# The node-linux package carries no npm; use the machine's npm under Node 24,
# or fetch npm from the registry when the machine has none.
npm_cli() {
  if command -v npm >/dev/null 2>&1; then command -v npm; return; fi
  local dir=$UPLINK_CACHE/npm/$UPLINK_NPM_VERSION tmp
  if [ ! -f "$dir/bin/npm-cli.js" ]; then
    say "installing npm $UPLINK_NPM_VERSION from the registry into $dir"
    tmp=$(mktemp -d)
    fetch_verified "https://registry.npmjs.org/npm/-/npm-$UPLINK_NPM_VERSION.tgz" "$UPLINK_NPM_INTEGRITY" "$tmp/npm.tgz"
    tar -xzf "$tmp/npm.tgz" -C "$tmp"
    mkdir -p "$(dirname "$dir")" && rm -rf "$dir" && mv "$tmp/package" "$dir"
    rm -rf "$tmp"
  fi
  echo "$dir/bin/npm-cli.js"
}

install_npm_packages() {
  local node stamp_file stamp npm
  node=$(uplink_find_node)
  stamp_file=$UPLINK_ROOT/node_modules/.uplink-installed
  stamp="$("$node" --version) $(sha256sum "$UPLINK_ROOT/package-lock.json" | cut -c1-16)"
  [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$stamp" ] && return
  npm=$(npm_cli)
  say "installing npm packages (npm ci)"
  (cd "$UPLINK_ROOT" && PATH="$(dirname "$node"):$PATH" "$node" "$npm" ci --no-audit --no-fund --loglevel=error)
  echo "$stamp" >"$stamp_file"
}

# The dashboard's static files (web/dist), rebuilt only when its sources,
# the lock file or Node changed.
build_dashboard() {
  local node stamp_file stamp
  node=$(uplink_find_node)
  stamp_file=$UPLINK_ROOT/web/dist/.uplink-built
  stamp="$("$node" --version) $(cd "$UPLINK_ROOT" && find web/src web/index.html web/vite.config.ts package-lock.json -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)"
  [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$stamp" ] && return
  say "building the web dashboard (vite build)"
  (cd "$UPLINK_ROOT/web" && PATH="$(dirname "$node"):$PATH" "$node" "$UPLINK_ROOT/node_modules/vite/bin/vite.js" build --logLevel warn)
  echo "$stamp" >"$stamp_file"
}

usage="usage: scripts/setup.sh [--without-cluster] [--with-browser]"
with_cluster=1
with_browser=0
for arg in "$@"; do
  case $arg in
    --without-cluster) with_cluster=0 ;;
    --with-browser) with_browser=1 ;;
    -h | --help) echo "$usage"; exit 0 ;;
    *) die "unknown option '$arg' ($usage)" ;;
  esac
done

install_apt_packages
install_node
install_npm_packages
build_dashboard
[ $with_cluster = 1 ] && "$UPLINK_ROOT/test/cluster/cluster" build
say "ready (node: $(uplink_find_node))"
