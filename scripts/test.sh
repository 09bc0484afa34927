#!/usr/bin/env bash
# The test suite: type check, then every test file under test/ with node's test runner, then the device
# integration tests a second time through the self-contained x64 executable (FIOUP_TEST_CLI).
# Run through `npm test`, which wraps this in scripts/with-engine.sh (provisioning + a private dockerd).
# Pass test files as arguments to run only those (the executables are built when one of them is under test/package/).
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s globstar nullglob
if [ -z "${DOCKER_HOST:-}" ]; then
  echo "scripts/test.sh: no DOCKER_HOST; run the tests with 'npm test'" >&2
  exit 1
fi
# Tests run the CLI compiled (dist/cli/main.js), the way it ships; the full run also type-checks everything else.
files=("$@")
full=0
if ((${#files[@]} == 0)); then
  full=1
  npx tsc -p tsconfig.json --noEmit
  files=(test/**/*.test.ts)
fi
npx tsc -p tsconfig.build.json
if ((full)) || [[ " ${files[*]} " == *" test/package/"* ]]; then
  npx tsx scripts/package.ts
fi
run_tests() {
  node --import tsx --test --test-concurrency="${FIOUP_TEST_CONCURRENCY:-2}" --test-reporter=spec "$@"
}
status=0
run_tests "${files[@]}" || status=$?
if ((full)); then
  device_tests=(test/cli/*.test.ts test/update/install-run.test.ts test/update/guards.test.ts test/update/crash.test.ts
                test/update/rootfs-flow.test.ts test/auto/*.test.ts)
  echo "== the device integration tests again, through dist/package/fioup-offline-linux-x64" >&2
  FIOUP_TEST_CLI="$PWD/dist/package/fioup-offline-linux-x64" run_tests "${device_tests[@]}" || status=$?
fi
exit "$status"
