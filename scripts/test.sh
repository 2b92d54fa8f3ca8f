#!/usr/bin/env bash
# The whole test suite, from a fresh machine: setup (idempotent), typecheck,
# lint, then unit and e2e tests in one node test run against the real test
# cluster. Extra arguments replace the default test files, e.g.
#   scripts/test.sh test/e2e/cluster.test.ts
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

"$UPLINK_ROOT/scripts/setup.sh" --with-browser
node=$(uplink_find_node)
export PATH="$(dirname "$node"):$UPLINK_ROOT/node_modules/.bin:$PATH"
cd "$UPLINK_ROOT"

echo "== typecheck (tsc --noEmit: server, then dashboard)"
tsc --noEmit -p .
tsc --noEmit -p web
echo "== lint (eslint)"
eslint --max-warnings=0 .
echo "== unit and e2e tests (node --test)"
files=("$@")
[ ${#files[@]} -gt 0 ] || files=('src/**/*.test.ts' 'test/**/*.test.ts')
# The per-test timeout bounds a hang; the global setup starts the test
# cluster once for the whole run and stops it afterwards.
exec node --test --test-reporter=spec --test-timeout=600000 \
  --test-global-setup=test/helpers/global-setup.ts "${files[@]}"
