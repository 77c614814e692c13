#!/usr/bin/env bash
# `make run`: a private bus, roomd with simulated devices, and the touch panel, until Ctrl+C.
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=${CONFIG:-Release}
RUN=$PWD/.run
PORT=${PORT:-8080}
mkdir -p "$RUN/state"
rm -f "$RUN/bus"

pids=()
cleanup() {
  # Newest first (panel, roomd, then the bus), each to its end: roomd leaves the bus instead of losing it.
  for ((i=${#pids[@]}-1; i>=0; i--)); do kill "${pids[$i]}" 2>/dev/null || true; wait "${pids[$i]}" 2>/dev/null || true; done
  rm -f "$RUN/bus"
}
trap cleanup EXIT INT TERM

cat > "$RUN/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$RUN/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
CONF
dbus-daemon --config-file="$RUN/bus.conf" --nofork --print-address > "$RUN/bus.address" &
pids+=($!)
for _ in $(seq 50); do [ -S "$RUN/bus" ] && break; sleep 0.1; done
BUS="unix:path=$RUN/bus"
echo "$BUS" > "$RUN/bus.address"

# A demo room: meetings later today so the panel's home screen has something to show.
iso() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }
cat > "$RUN/room.json" <<JSON
{
  "Room": {
    "Name": "Demo room",
    "AdminPin": "1234",
    "Devices": "simulated",
    "Calendar": [
      { "Title": "Stand-up", "Uri": "https://meet.example.org/m/standup", "Start": "$(iso '+5 min')", "End": "$(iso '+20 min')" },
      { "Title": "Bauausschuss", "Uri": "https://meet.example.org/m/bau", "Start": "$(iso '+2 hour')", "End": "$(iso '+3 hour')" }
    ]
  }
}
JSON

# The allocator settings roomd.service uses (appliance/Room.Appliance/Interop/Malloc.cs says why).
GLIBC_TUNABLES=glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072 ROOM_CONFIG="$RUN/room.json" dotnet "appliance/Room.Appliance/bin/$CONFIG/net10.0/roomd.dll" --bus "$BUS" --state "$RUN/state" &
pids+=($!)

UI_DLL="controller-ui/Room.ControllerUi/bin/$CONFIG/net10.0/Room.ControllerUi.dll"
if [ -f "$UI_DLL" ]; then
  dotnet "$UI_DLL" --bus "$BUS" --urls "http://127.0.0.1:$PORT" &
  pids+=($!)
fi

sleep 2
cat <<MSG

  Room is running with simulated devices.
    bus:         $BUS
    touch panel: $( [ -f "$UI_DLL" ] && echo "http://127.0.0.1:$PORT/" || echo "(not built)" )   admin PIN 1234
    from another shell:
      scripts/roomctl status
      scripts/roomctl join https://meet.example.org/m/demo
      scripts/roomctl watch
      gdbus introspect --address $BUS --dest org.room.Appliance1 --object-path /org/room/Appliance1
  Ctrl+C stops everything.

MSG
wait -n "${pids[@]}"
