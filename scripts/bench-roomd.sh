#!/usr/bin/env bash
# roomd start-up and footprint: time from exec to owning org.room.Appliance1 on a private bus (ready to serve),
# and resident memory after 5 s idle. Median of N runs. Goals: ready < 1 s, idle RSS < 60 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=${CONFIG:-Release}
N=${N:-5}
DLL="appliance/Room.Appliance/bin/$CONFIG/net10.0/roomd.dll"
[ -f "$DLL" ] || { echo "build first: $DLL missing" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
dbus-daemon --session --nofork --address="unix:path=$tmp/bus" >/dev/null 2>&1 &
for _ in $(seq 50); do [ -S "$tmp/bus" ] && break; sleep 0.1; done
BUS="unix:path=$tmp/bus"
owned() { gdbus call --address "$BUS" --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
  --method org.freedesktop.DBus.NameHasOwner org.room.Appliance1 2>/dev/null | grep -q true; }
ready=() rss=()
for i in $(seq "$N"); do
  start=$(date +%s%N)
  ROOM_CONFIG=/nonexistent dotnet "$DLL" --bus "$BUS" --state "$tmp/state" >/dev/null 2>&1 &
  pid=$!
  until owned; do sleep 0.005; done
  ready+=($(( ($(date +%s%N) - start) / 1000000 )))
  sleep 5
  rss+=($(awk '/VmRSS/ {print int($2/1024)}' /proc/$pid/status))
  # Where the memory is (first run): the largest resident mappings, so a regression can be traced.
  [ "$i" = 1 ] && top=$(awk '/^[0-9a-f]+-[0-9a-f]+ / {name = ($6 == "" ? "[anon]" : $6)} /^Rss:/ {kb[name] += $2}
    END {for (n in kb) printf "%6.1f MB %s\n", kb[n]/1024, n}' /proc/$pid/smaps | sort -rn | head -8)
  kill $pid; wait $pid 2>/dev/null || true
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "roomd ready on the bus: median $(median "${ready[@]}") ms over $N runs (${ready[*]} ms; goal < 1000 ms)"
echo "roomd idle RSS after 5 s: median $(median "${rss[@]}") MB (${rss[*]} MB; goal < 60 MB); largest parts:"
echo "$top" | sed 's/^/    /'
