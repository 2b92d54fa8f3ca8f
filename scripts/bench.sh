#!/usr/bin/env bash
# Runs one benchmark from bench/ with Node 24, after setup (idempotent):
#   scripts/bench.sh kubectl
# Benchmarks print their figures side by side with the direct path; see
# docs/benchmarks.md. They are not tests and are not run by scripts/test.sh.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Benchmarks are bench/NAME.ts with a one-word NAME; bench/NAME-*.ts and
# bench/sim/ hold their parts.
available=$(cd "$UPLINK_ROOT/bench" && ls ./*.ts | sed 's#^\./##; s#\.ts$##' | grep -v -- - | tr '\n' ' ')
name=${1:-}
if [ -z "$name" ] || [[ $name == *-* ]] || [ ! -f "$UPLINK_ROOT/bench/$name.ts" ]; then
  echo "usage: scripts/bench.sh NAME   (one of: $available)" >&2
  exit 2
fi
shift
"$UPLINK_ROOT/scripts/setup.sh"
exec "$(uplink_find_node)" "$UPLINK_ROOT/bench/$name.ts" "$@"
