#!/usr/bin/env bash
# The test suite: type check, then every test file under test/ with node's test runner.
# Run through `npm test`, which wraps this in scripts/with-engine.sh (provisioning + a private dockerd).
# Pass test files as arguments to run only those.
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s globstar nullglob
if [ -z "${DOCKER_HOST:-}" ]; then
  echo "scripts/test.sh: no DOCKER_HOST; run the tests with 'npm test'" >&2
  exit 1
fi
# Tests run the CLI compiled (dist/cli/main.js), the way it ships; the full run also type-checks everything else.
files=("$@")
if ((${#files[@]} == 0)); then
  npx tsc -p tsconfig.json --noEmit
  files=(test/**/*.test.ts)
fi
npx tsc -p tsconfig.build.json
exec node --import tsx --test --test-concurrency="${FIOUP_TEST_CONCURRENCY:-2}" --test-reporter=spec "${files[@]}"
