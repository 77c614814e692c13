#!/usr/bin/env bash
# Runs every test project of Room.sln (every *.Tests project, see Directory.Build.props) in parallel lanes, the longest
# first, and fails if any project fails or writes no results.
#
# Why not `dotnet test Room.sln`: it starts projects in solution order, two at a time, so the three long ones
# (Appliance, MeetingServer, ControllerUi: 7-9 min each on CI's 2 cores) ran as the last of their lanes and one lane
# idled for ~5 min while the other finished (fresh clone of caa3221: lane ends 18:16 and 18:21). Within each phase
# below, longest-first into the least-loaded lane (the classic LPT schedule).
#
# usage: scripts/dotnet-test-lanes.sh CONFIG RESULTS_DIR
set -uo pipefail
cd "$(dirname "$0")/.."
config=${1:?configuration}
results=${2:?results directory}
lanes=${TEST_LANES:-2}

# Seconds each project took in the fresh-clone run of caa3221 (dotnet test's own "Duration"); unlisted: 30.
declare -A weight=(
  [Room.Appliance.Tests]=540 [Room.MeetingServer.Tests]=425 [Room.ControllerUi.Tests]=400 [Room.Rtc.Tests]=215
  [Room.Fleet.Tests]=56 [Room.Media.Tests]=51 [Room.Crypto.Tests]=48
)

mapfile -t projects < <(dotnet sln Room.sln list | grep -E '\.Tests\.csproj$' | sed 's|\\|/|g')
if [ ${#projects[@]} -eq 0 ]; then
  echo "no test projects in Room.sln" >&2
  exit 1
fi

run_lane() {
  local rc=0 p name
  for p in $1; do
    name=$(basename "$p" .csproj)
    echo "lane $2: $name"
    dotnet test "$p" -c "$config" --no-build --logger "trx;LogFileName=$name.trx" --results-directory "$results" \
      --blame-hang-timeout 5m --verbosity minimal -- RunConfiguration.TreatNoTestsAsError=true || rc=1
    # A test host that dies can leave no results; the closing count must not silently lose a project.
    [ -s "$results/$name.trx" ] || { echo "$name wrote no test results" >&2; rc=1; }
  done
  return $rc
}

# Runs the given projects in $lanes lanes: longest first, each into the lane with the least work so far.
run_phase() {
  local -a ordered load plan pids
  local p name best l rc=0
  mapfile -t ordered < <(for p in "$@"; do
    name=$(basename "$p" .csproj)
    echo "${weight[$name]:-30} $p"
  done | sort -k1,1nr -k2 | cut -d' ' -f2-)
  for ((l = 0; l < lanes; l++)); do load[l]=0; plan[l]=""; done
  for p in "${ordered[@]}"; do
    best=0
    for ((l = 1; l < lanes; l++)); do [ "${load[l]}" -lt "${load[best]}" ] && best=$l; done
    name=$(basename "$p" .csproj)
    load[best]=$((load[best] + ${weight[$name]:-30}))
    plan[best]+="$p "
  done
  for ((l = 0; l < lanes; l++)); do
    echo "lane $l (~${load[l]} s): ${plan[l]}"
    run_lane "${plan[l]}" "$l" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  return $rc
}

# Two phases. The browser projects first, apart from the projects that make network namespaces: Chromium fails
# every request still connecting (and, over HTTP/2, every one in flight) with net::ERR_NETWORK_CHANGED when any
# address on the machine changes, and those projects add and remove veth addresses all the time (measured: CI's
# MeetingServer page loads failed so while Rtc ran beside them; see meeting-server's Program.cs).
browsers=" Room.MeetingServer.Tests Room.ControllerUi.Tests "
first=() rest=()
for p in "${projects[@]}"; do
  if [[ $browsers == *" $(basename "$p" .csproj) "* ]]; then first+=("$p"); else rest+=("$p"); fi
done
rc=0
run_phase "${first[@]}" || rc=1
run_phase "${rest[@]}" || rc=1
exit $rc
