#!/usr/bin/env bash
# Runs every test project (*.Tests.csproj) of the tree, already built, as many at a time as the machine has cores,
# the longest first: with `dotnet test Room.sln` they started in the solution's order, so the longest (Appliance,
# ~9 min alone) began after several short ones and ran on alone at the end. Longest-first keeps both cores busy to
# the end. Each project's wall time is printed, to keep the list below true.
# Usage: scripts/dotnet-test.sh RESULTS_DIR CONFIG
set -uo pipefail
cd "$(dirname "$0")/.."
results=$1 config=$2
# Longest first, as measured by a fresh-clone `make test` on an idle 2-core machine (minutes); the rest follow.
slow=(Room.Appliance.Tests Room.ControllerUi.Tests Room.MeetingServer.Tests Room.Rtc.Tests)
mapfile -t all < <(git ls-files --cached --others --exclude-standard -- '*.Tests.csproj' | sort)
order=()
for name in "${slow[@]}"; do
  for p in "${all[@]}"; do [ "$(basename "$p" .csproj)" = "$name" ] && order+=("$p"); done
done
for p in "${all[@]}"; do
  [[ " ${order[*]} " == *" $p "* ]] || order+=("$p")
done
[ ${#order[@]} -gt 0 ] || { echo "dotnet-test: no test projects found" >&2; exit 1; }

one() { # $1 = project
  local start=$SECONDS rc
  dotnet test "$1" -c "$config" --no-build --logger "trx;LogFileName=$(basename "$1" .csproj).trx" --results-directory "$results" \
    --blame-hang-timeout 5m --verbosity minimal -- RunConfiguration.TreatNoTestsAsError=true
  rc=$?
  echo "dotnet-test: $(basename "$1" .csproj) took $((SECONDS - start)) s (exit $rc)"
  return $rc
}
export -f one
export results config
printf '%s\0' "${order[@]}" | xargs -0 -P "${TEST_LANES:-$(nproc)}" -I{} bash -c 'one "$1"' _ {}
