#!/usr/bin/env bash
# Writes a config folder for Debian's Janus with the meeting server's settings: sessions only with tokens the server
# signs (token_auth_secret), VideoRooms only with its admin key, WebSocket with TLS only (wss://, the certificate
# and key CERT_PEM/KEY_PEM: `room-meeting-server janus-certificate` issues them from the organisation CA) and media on
# loopback only, no static rooms. The one place these settings live: `make run` (scripts/run-room.sh) and meeting-server's tests
# (Support/JanusInstance.cs) both use it. Start Janus with: janus -F DIR -C DIR/janus.jcfg
# Usage: write-config.sh DIR PORT TOKEN_SECRET ADMIN_KEY CERT_PEM KEY_PEM
set -euo pipefail
if [ $# -ne 6 ]; then
  echo "usage: $0 DIR PORT TOKEN_SECRET ADMIN_KEY CERT_PEM KEY_PEM" >&2
  exit 2
fi
dir=$1 port=$2 secret=$3 admin_key=$4 cert=$5 key=$6
for f in "$cert" "$key"; do
  [ -r "$f" ] || { echo "$f is not readable (room-meeting-server janus-certificate DIR HOST issues Janus's certificate)" >&2; exit 1; }
done
lib=$(ls -d /usr/lib/*/janus 2>/dev/null | head -1)
if [ -z "$lib" ]; then
  echo "Debian's janus is not installed (make deps)" >&2
  exit 1
fi
mkdir -p "$dir/plugins" "$dir/transports" "$dir/empty"
ln -sf "$lib/plugins/libjanus_videoroom.so" "$dir/plugins/"
ln -sf "$lib/transports/libjanus_websockets.so" "$dir/transports/"
umask 077
cat > "$dir/janus.jcfg" <<CONF
general: {
    configs_folder = "$dir"
    plugins_folder = "$dir/plugins"
    transports_folder = "$dir/transports"
    events_folder = "$dir/empty"
    loggers_folder = "$dir/empty"
    debug_level = 4
    token_auth = true
    token_auth_secret = "$secret"
    admin_secret = "$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
}
certificates: {
}
media: {
}
nat: {
    nice_debug = false
    ice_enforce_list = "lo"
}
plugins: {
}
transports: {
}
loggers: {
}
events: {
}
CONF
cat > "$dir/janus.transport.websockets.jcfg" <<CONF
general: {
    json = "compact"
    ws = false
    wss = true
    wss_port = $port
    wss_ip = "127.0.0.1"
}
certificates: {
    cert_pem = "$cert"
    cert_key = "$key"
}
admin: {
    admin_ws = false
    admin_wss = false
}
CONF
cat > "$dir/janus.plugin.videoroom.jcfg" <<CONF
general: {
    admin_key = "$admin_key"
    lock_rtp_forward = true
}
CONF
