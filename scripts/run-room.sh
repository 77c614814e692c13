#!/usr/bin/env bash
# `make run`: a demo organisation on this machine, loopback only, until Ctrl+C: a private bus, Debian's Janus, the
# meeting-server (SQLite), roomd with simulated devices (enrolled with a one-time code, as a real box is), the touch
# panel, and a demo meeting that invites the room and a local person who can join from a browser.
#
# Environment: PORT (touch panel, 8080), MEETING_PORT and JANUS_PORT (free ports picked when unset), ROOM_RUN_DIR
# (state, logs and configs; .run), ROOM_RUN_PANEL=0 (no panel: headless), CONFIG (Release).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CONFIG=${CONFIG:-Release}
RUN=${ROOM_RUN_DIR:-$ROOT/.run}
PORT=${PORT:-8080}
PANEL=${ROOM_RUN_PANEL:-1}
BIN() { echo "$ROOT/$1/bin/$CONFIG/net10.0/$2"; }
ROOMD_DLL=$(BIN appliance/Room.Appliance roomd.dll)
ROOMCTL_DLL=$(BIN appliance/Room.Cli roomctl.dll)
MS_DLL=$(BIN meeting-server/Room.MeetingServer room-meeting-server.dll)
UI_DLL=$(BIN controller-ui/Room.ControllerUi Room.ControllerUi.dll)
die() { echo "make run: $*" >&2; exit 1; }
for f in "$ROOMD_DLL" "$ROOMCTL_DLL" "$MS_DLL"; do [ -f "$f" ] || die "$f is not built (make build)"; done
command -v janus >/dev/null || die "Debian's janus is not installed (make deps)"
for tool in curl jq ss flock; do command -v $tool >/dev/null || die "$tool is missing (make deps)"; done

# One `make run` per folder: a second one (or children of one that was killed) would fight over bus and ports.
mkdir -p "$RUN"
exec 9>"$RUN/lock"
flock -n 9 || die "another 'make run' (or what is left of one) still runs in $RUN: stop it first (Ctrl+C there)"
# Whatever an earlier run left is stale: the demo organisation (CA, accounts, meeting) is made afresh each time,
# roomd's own settings in $RUN/state are kept.
rm -rf "$RUN/bus" "$RUN/janus" "$RUN/meeting-server" "$RUN/identity" "$RUN/logs"
mkdir -p "$RUN/state" "$RUN/logs" "$RUN/janus"
LOGS=$RUN/logs

listening() { ss -Hltn "sport = :$1" | grep -q .; }
free_port() {
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 40000))
    if ! listening $p && ! ss -Hlun "sport = :$p" | grep -q .; then echo $p; return 0; fi
  done
  die "found no free port"
}
JANUS_PORT=${JANUS_PORT:-$(free_port)}
MEETING_PORT=${MEETING_PORT:-$(free_port)}
[ "$PANEL" = 0 ] || ! listening "$PORT" || die "port $PORT (touch panel) is in use: PORT=NNNN make run"
for p in "$JANUS_PORT" "$MEETING_PORT"; do ! listening "$p" || die "port $p is in use"; done

pids=()
cleanup() {
  # Newest first (panel, roomd, meeting-server, Janus, then the bus), each to its end: roomd leaves the bus instead of losing it.
  for ((i=${#pids[@]}-1; i>=0; i--)); do kill "${pids[$i]}" 2>/dev/null || true; wait "${pids[$i]}" 2>/dev/null || true; done
  rm -f "$RUN/bus"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# Waits until $2 is true, while process $1 runs; $3 says what for.
wait_for() {
  for _ in $(seq 1200); do
    eval "$2" && return 0
    kill -0 "$1" 2>/dev/null || die "$3: the process ended (see $LOGS/)"
    sleep 0.1
  done
  die "$3: not ready after 2 minutes (see $LOGS/)"
}
random_hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# The private bus.
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
wait_for $! '[ -S "$RUN/bus" ]' "dbus-daemon"
BUS="unix:path=$RUN/bus"
echo "$BUS" > "$RUN/bus.address"

J=$RUN/janus
JANUS_TOKEN_SECRET=$(random_hex 16)
JANUS_ADMIN_KEY=$(random_hex 16)
# The meeting server: its own CA, SQLite in $RUN/meeting-server/meetings.db, Janus beside it.
MS_DIR=$RUN/meeting-server
MS_URL=https://127.0.0.1:$MEETING_PORT
MS_ARGS=(--MeetingServer:DataDirectory="$MS_DIR" --MeetingServer:Listen=127.0.0.1:$MEETING_PORT
  --MeetingServer:HostNames:0=127.0.0.1 --MeetingServer:Organisation="Demo organisation"
  --MeetingServer:Janus:Url=wss://127.0.0.1:$JANUS_PORT/ --MeetingServer:Janus:TokenSecret=$JANUS_TOKEN_SECRET
  --MeetingServer:Janus:AdminKey=$JANUS_ADMIN_KEY)
mkdir -p "$MS_DIR"
# Debian's Janus with the meeting server's settings (meeting-server/janus/write-config.sh, which its tests use too):
# sessions only with tokens the server signs, VideoRooms only with the admin key, WebSocket (wss:// only, a certificate
# from the organisation CA, which roomd and the meeting server check) and media on loopback only.
dotnet "$MS_DLL" janus-certificate "$J" 127.0.0.1 "${MS_ARGS[@]}" > "$LOGS/janus-certificate.log" 2>&1 || die "could not issue Janus's certificate (see $LOGS/janus-certificate.log)"
meeting-server/janus/write-config.sh "$J" "$JANUS_PORT" "$JANUS_TOKEN_SECRET" "$JANUS_ADMIN_KEY" "$J/janus.pem" "$J/janus.key"
janus -F "$J" -C "$J/janus.jcfg" > "$LOGS/janus.log" 2>&1 &
pids+=($!)
wait_for $! 'listening $JANUS_PORT' "Janus"

ADMIN_PASSWORD=$(random_hex 12)
DEMO_PASSWORD=$(random_hex 6)
(umask 077; echo "$ADMIN_PASSWORD" > "$MS_DIR/admin-password"; echo "$DEMO_PASSWORD" > "$MS_DIR/demo-password")
dotnet "$MS_DLL" user add admin --admin "${MS_ARGS[@]}" <<< "$ADMIN_PASSWORD" > "$LOGS/accounts.log" 2>&1 || die "could not add the administrator (see $LOGS/accounts.log)"
dotnet "$MS_DLL" user add demo "${MS_ARGS[@]}" <<< "$DEMO_PASSWORD" >> "$LOGS/accounts.log" 2>&1 || die "could not add the demo person (see $LOGS/accounts.log)"
dotnet "$MS_DLL" serve "${MS_ARGS[@]}" > "$LOGS/meeting-server.log" 2>&1 &
pids+=($!)
wait_for $! 'grep -q "room-meeting-server listening on" "$LOGS/meeting-server.log"' "meeting-server"

# The server's API as an administrator and a person would use it (their browsers or tools); curl checks its
# certificate against the organisation CA.
api() { # METHOD PATH TOKEN [JSON]
  curl -sS --fail-with-body --cacert "$MS_DIR/ca.pem" -X "$1" ${3:+-H "Authorization: Bearer $3"} -H 'Content-Type: application/json' \
    ${4:+--data "$4"} "$MS_URL/api/$2" || die "meeting-server refused $1 /api/$2"
}
login() { api POST login "" "$(jq -nc --arg n "$1" --arg p "$2" '{name: $n, password: $p}')" | jq -er .token; }
ADMIN_TOKEN=$(login admin "$ADMIN_PASSWORD")
DEMO_TOKEN=$(login demo "$DEMO_PASSWORD")

# The room enrols as a real box does: a one-time code from the administrator, `roomctl enroll URL CODE`.
ROOM_DEVICE=demo-room
CODE=$(api POST admin/enrolment-codes "$ADMIN_TOKEN" "$(jq -nc --arg d $ROOM_DEVICE '{device: $d}')" | jq -er .code)
ROOM_MEETING_KEY_DIR=$RUN/identity dotnet "$ROOMCTL_DLL" enroll "$MS_URL" "$CODE" > "$LOGS/enroll.log" 2>&1 || die "roomctl enroll failed: $(cat "$LOGS/enroll.log")"

# The demo person books a meeting with the room and makes the room a host, so it can open the meeting by itself.
MEETING_ID=$(api POST meetings/ "$DEMO_TOKEN" "$(jq -nc --arg r device:$ROOM_DEVICE '{title: "Demo meeting", invite: [$r]}')" | jq -er .id)
api POST "meetings/$MEETING_ID/invitations" "$DEMO_TOKEN" "$(jq -nc --arg r device:$ROOM_DEVICE '{identity: $r, host: true}')" > /dev/null
MEETING_LINK=meeting://127.0.0.1:$MEETING_PORT/$MEETING_ID

# The room: the demo meeting in its calendar now, and again later today.
iso() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }
cat > "$RUN/room.json" <<JSON
{
  "Room": {
    "Name": "Demo room",
    "AdminPin": "1234",
    "Devices": "simulated",
    "Calendar": [
      { "Title": "Demo meeting", "Uri": "$MEETING_LINK", "Start": "$(iso '-5 min')", "End": "$(iso '+55 min')" },
      { "Title": "Bauausschuss", "Uri": "$MEETING_LINK", "Start": "$(iso '+2 hour')", "End": "$(iso '+3 hour')" }
    ]
  },
  "MeetingServer": { "IdentityDirectory": "$RUN/identity" }
}
JSON

# The allocator settings roomd.service uses (appliance/Room.Appliance/Interop/Malloc.cs says why).
GLIBC_TUNABLES=glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072 ROOM_CONFIG="$RUN/room.json" dotnet "$ROOMD_DLL" --bus "$BUS" --state "$RUN/state" &
pids+=($!)
ROOMD_PID=$!

PANEL_URL="(not started)"
if [ "$PANEL" != 0 ]; then
  if [ -f "$UI_DLL" ]; then
    dotnet "$UI_DLL" --bus "$BUS" --urls "http://127.0.0.1:$PORT" &
    pids+=($!)
    PANEL_URL="http://127.0.0.1:$PORT/"
  else
    PANEL_URL="(not built)"
  fi
fi

wait_for $ROOMD_PID 'dbus-send --bus="$BUS" --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.NameHasOwner string:org.room.Appliance1 2>/dev/null | grep -q "boolean true"' "roomd"
cat <<MSG

  Room is running: a demo organisation on this machine, on loopback only (logs in $LOGS/).
    touch panel:   $PANEL_URL   admin PIN 1234
                   "Demo meeting" is on its agenda: tap Join (the room is enrolled as device:$ROOM_DEVICE and a host)
    meeting link:  $MEETING_LINK
    web client:    $MS_URL/client/   sign in as demo / $DEMO_PASSWORD, open "Demo meeting", join
                   (its certificate is from the demo organisation's CA, $MS_DIR/ca.pem: the browser warns once)
    meeting-server administrator: admin / $ADMIN_PASSWORD
    from another shell:
      scripts/roomctl join $MEETING_LINK
      scripts/roomctl status
      scripts/roomctl watch
      scripts/roomctl join test-loopback:demo     (a test call with itself, no server: says it is a test)
      gdbus introspect --address $BUS --dest org.room.Appliance1 --object-path /org/room/Appliance1
  Ctrl+C stops everything.

MSG
wait -n "${pids[@]}"
