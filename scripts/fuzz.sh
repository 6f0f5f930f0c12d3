#!/usr/bin/env bash
# scripts/fuzz.sh PACKAGE TARGET FUZZTIME: runs one fuzz target (make fuzz).
# A failing input always fails the run. Go's fuzzer can also end a short run
# with "context deadline exceeded" and no failing input, when the time runs
# out while it is still starting its workers on a busy machine; that run is
# tried once more, and fails if it ends so again.
set -uo pipefail
pkg=$1 target=$2 time=$3
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for try in 1 2; do
	"${GO:-go}" test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$time" 2>&1 | tee "$out"
	status=${PIPESTATUS[0]}
	if [ "$status" = 0 ]; then
		exit 0
	fi
	if [ "$try" = 2 ] || grep -q 'Failing input written' "$out" || ! grep -q 'context deadline exceeded' "$out"; then
		exit "$status"
	fi
	echo "fuzz.sh: $target ended with 'context deadline exceeded' and no failing input; running it once more" >&2
done
