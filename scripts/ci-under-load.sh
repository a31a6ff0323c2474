#!/usr/bin/env bash
# Runs `.ci/run` with two CPU hogs beside it, the way a busy CI runner or laptop would: the suite
# must pass on an oversubscribed machine (issue 16). Usage: scripts/ci-under-load.sh [repo folder]
# (default: this repository). Ends with the hogs' presence and .ci/run's final "N passed, N failed".
set -uo pipefail
repo=$(cd "${1:-$(dirname "$0")/..}" && pwd)

hogs=()
stop_hogs() { for pid in "${hogs[@]}"; do kill "$pid" 2>/dev/null; done; }
trap stop_hogs EXIT
trap 'exit 130' INT TERM
for _ in 1 2; do
  node -e 'for (;;) {}' &
  hogs+=("$!")
done

log=$(mktemp)
bash "$repo/.ci/run" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

alive=0
for pid in "${hogs[@]}"; do kill -0 "$pid" 2>/dev/null && alive=$((alive + 1)); done
echo "::: CPU hogs still running at the end: $alive of ${#hogs[@]} (pids ${hogs[*]})"
tail -n 1 "$log"
rm -f "$log"
exit "$status"
