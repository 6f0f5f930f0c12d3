#!/usr/bin/env bash
# Sums the package init times of a Go binary (GODEBUG=inittrace=1) and lists
# the packages that take longest. Each run's lines look like
#   init github.com/x/y @12.3 ms, 0.84 ms clock, 1024 bytes, 10 allocs
# Usage: scripts/inittrace-sum.sh [-n RUNS] [-top N] [BINARY [ARGS...]]
# (default: 7 runs of `bin/signet version`, top 25). Prints the median of
# the per-run sums, their min and max, the sum of each package's median
# (steadier under load), then the packages by median clock.
set -euo pipefail
runs=7 top=25
while [[ $# -gt 0 ]]; do
  case "$1" in
    -n) runs="$2"; shift 2 ;;
    -top) top="$2"; shift 2 ;;
    *) break ;;
  esac
done
if [[ $# -eq 0 ]]; then
  set -- "$(cd "$(dirname "$0")/.." && pwd)/bin/signet" version
fi
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
for ((i = 0; i < runs; i++)); do
  # The program's own output goes away; only the trace (stderr) is kept.
  GODEBUG=inittrace=1 "$@" 2>&1 >/dev/null | awk -v run="$i" '$1 == "init" && $7 == "clock," { print run, $2, $5 }' >>"$tmp"
done
awk -v runs="$runs" -v top="$top" '
  { sum[$1] += $3; clock[$1, $2] = $3; pkgs[$2] = 1; n[$2]++ }
  function median(a, k,   i, j, t) {
    for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
  }
  END {
    k = 0; for (r = 0; r < runs; r++) { s[++k] = sum[r] + 0 }
    med = median(s, k)
    printf "init sum: median %.2f ms, min %.2f, max %.2f over %d runs; %d packages\n", med, s[1], s[k], runs, length(pkgs)
    m = 0
    for (p in pkgs) {
      delete v; c = 0
      for (r = 0; r < runs; r++) v[++c] = ((r, p) in clock) ? clock[r, p] : 0
      pm[p] = median(v, c); order[++m] = p
    }
    for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (pm[order[j]] > pm[order[i]]) { t = order[i]; order[i] = order[j]; order[j] = t }
    tot = 0; for (i = 1; i <= m; i++) tot += pm[order[i]]
    printf "sum of per-package medians: %.2f ms (steadier than the median sum on a loaded machine)\n", tot
    printf "top %d packages by median init clock (ms):\n", top
    for (i = 1; i <= top && i <= m; i++) printf "%8.3f  %s\n", pm[order[i]], order[i]
  }' "$tmp"
