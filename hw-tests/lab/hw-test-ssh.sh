#!/usr/bin/env bash
# make hw-test-ssh: proves `make hw-test TARGET=ssh://user@host[:port]` (the room-box path) against a real OpenSSH
# server. In a network namespace made for the run, sshd listens on 127.0.0.1 with a throw-away host key and accepts
# one throw-away client key; the client trusts exactly that host key (a known_hosts file of the run, strict
# checking). hw-test.sh then publishes, copies and runs the suite "on the board" (this host, as root) and its
# report must list every check of the suite with PASS/FAIL/SKIP and a reason: this host has no vivid, CEC, USB
# gadget or sound card, so the device checks must SKIP (not FAIL) and nothing may hang. The system's sshd and its
# configuration are not touched; sshd, the namespace and every file of the run are removed at the end.
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
ROOT=$(cd "$HERE/.." && pwd)
OUT=$HERE/out
SSHD=/usr/sbin/sshd
[ "$(id -u)" -eq 0 ] || { echo "hw-test-ssh: needs root (network namespace, sshd, the suite's device access)" >&2; exit 1; }
[ -x "$SSHD" ] || { echo "hw-test-ssh: $SSHD missing (Debian package openssh-server; make deps installs it)" >&2; exit 1; }
mkdir -p "$OUT"
t0=$(date +%s)
work=$(mktemp -d /tmp/hwtest-ssh.XXXXXX)
ns=hwtest-ssh-$$
port=2222
sshd_pid=""
made_privsep=0
cleanup() {
  if [ -n "$sshd_pid" ] && kill -0 "$sshd_pid" 2>/dev/null; then
    kill "$sshd_pid" 2>/dev/null || true
    wait "$sshd_pid" 2>/dev/null || true
  fi
  ip netns del "$ns" 2>/dev/null || true
  [ "$made_privsep" = 0 ] || rmdir /run/sshd 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The suite for this host's architecture is published here, in the host's namespace, where NuGet can reach its
# feeds; inside the namespace there is only loopback, so hw-test.sh restores from the local cache.
dotnet restore "$HERE/Room.HwTests/Room.HwTests.csproj" -r linux-x64 --verbosity quiet >/dev/null
dotnet restore "$ROOT/appliance/Room.Appliance/Room.Appliance.csproj" -r linux-x64 --verbosity quiet >/dev/null

# Keys and configuration of the run only.
ssh-keygen -q -t ed25519 -N '' -C hw-test-ssh-host -f "$work/host_key"
ssh-keygen -q -t ed25519 -N '' -C hw-test-ssh-client -f "$work/client_key"
cp "$work/client_key.pub" "$work/authorized_keys"
echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$work/host_key.pub")" >"$work/known_hosts"
cat >"$work/sshd_config" <<EOF
Port $port
ListenAddress 127.0.0.1
HostKey $work/host_key
PidFile $work/sshd.pid
AuthorizedKeysFile $work/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
X11Forwarding no
AllowTcpForwarding no
PrintMotd no
Subsystem sftp internal-sftp
LogLevel VERBOSE
EOF
cat >"$work/ssh_config" <<EOF
Host 127.0.0.1
  IdentityFile $work/client_key
  IdentitiesOnly yes
  UserKnownHostsFile $work/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  CheckHostIP no
  LogLevel ERROR
EOF
# sshd's privilege-separation directory (systemd's tmpfiles makes it on an ordinary boot); removed again if made here.
[ -d /run/sshd ] || { mkdir -p /run/sshd && chmod 755 /run/sshd && made_privsep=1; }
"$SSHD" -t -f "$work/sshd_config"

ip netns add "$ns"
ip -n "$ns" link set lo up
ip netns exec "$ns" "$SSHD" -D -e -f "$work/sshd_config" 2>"$work/sshd.log" &
sshd_pid=$!
for _ in $(seq 100); do
  ip netns exec "$ns" ss -Hltn "sport = :$port" 2>/dev/null | grep -q . && break
  kill -0 "$sshd_pid" 2>/dev/null || { cat "$work/sshd.log"; echo "hw-test-ssh: sshd did not start" >&2; exit 1; }
  sleep 0.2
done
echo "hw-test-ssh: sshd (pid $sshd_pid) on 127.0.0.1:$port in network namespace $ns"

log=$OUT/ssh-run.log
rm -f "$OUT/board-suite"
set +e
# The outer limit only backs up hw-test.sh's own (ssh connect/keep-alive timeouts, timeout on the board).
ip netns exec "$ns" env TARGET="ssh://root@127.0.0.1:$port" HWTEST_SSH_CONFIG="$work/ssh_config" HWTEST_TIMEOUT="${HWTEST_TIMEOUT:-400}" \
  timeout -k 10 900 "$HERE/lab/hw-test.sh" </dev/null 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e

# Judge the report: hw-test.sh passed; every check the suite has (all but the two that only exist in the lab) is
# reported once with PASS/FAIL/SKIP and a reason; none failed here; the device checks skipped.
fail=0
problem() { echo "hw-test-ssh: $*"; fail=1; }
[ "$rc" -eq 0 ] || problem "hw-test.sh TARGET=ssh://root@127.0.0.1:$port exited $rc"
grep -q '^================ hw-test report (board root@127.0.0.1' "$log" || problem "no report printed"
board=$OUT/board.log
# The suite's own catalog of checks (Lab/CheckCatalog.cs) for a board: all but the lab-only and host checks.
# The build hw-test.sh copied (its own publish, or the lab's when nothing it is built from changed).
suite=$(cat "$OUT/board-suite" 2>/dev/null || true)
[ -x "$suite/Room.HwTests" ] || problem "hw-test.sh did not say which build of the suite it copied"
expected=$("$suite/Room.HwTests" list 2>/dev/null | sort)
reported=$(grep -a '^@@HWTEST|' "$board" | cut -d'|' -f3 | sort)
[ -n "$expected" ] || problem "found no checks in the suite's source"
if [ "$expected" != "$reported" ]; then
  problem "the report does not list every check exactly once:"
  diff <(echo "$expected") <(echo "$reported") | sed 's/^/    /' || true
fi
bad=$(grep -a '^@@HWTEST|' "$board" | awk -F'|' '$2 !~ /^(PASS|FAIL|SKIP)$/ || $5 == "" || NF != 5' || true)
[ -z "$bad" ] || problem "lines without a status or a reason: $bad"
failed=$(grep -a '^@@HWTEST|FAIL|' "$board" || true)
[ -z "$failed" ] || problem "checks failed on a host without lab devices: $failed"
for c in lab.vivid.webcam camera.discovery camera.v4l2.capture display.cec.wake audio.loopback-8ch hotplug.usb-camera hotplug.usb-camera-roomd; do
  grep -aq "^@@HWTEST|SKIP|$c|" "$board" || problem "$c did not SKIP on a host without that device"
done
grep -aq '^@@HWTEST|PASS|roomd.dbus|' "$board" || problem "roomd.dbus did not pass on the host"
grep -aq '^@@HWTEST-END|' "$board" || problem "the suite did not finish"
# Nothing of the run may stay behind on the "board".
sleep 1
left=$(ls -d /tmp/room-hwtests.* /tmp/hwtest-roomd-* 2>/dev/null || true)
[ -z "$left" ] || problem "the suite's copy was left on the board: $left"
if pgrep -f '/tmp/room-hwtests\.[^ ]*/(roomd|Room.HwTests)' >/dev/null; then problem "the suite or roomd still runs on the board"; fi
grep -q 'Accepted publickey for root' "$work/sshd.log" || problem "sshd did not log the key login (see $work/sshd.log)"

n=$(grep -ac '^@@HWTEST|' "$board"); s=$(grep -ac '^@@HWTEST|SKIP|' "$board"); p=$(grep -ac '^@@HWTEST|PASS|' "$board")
if [ $fail -eq 0 ]; then
  echo "hw-test-ssh: PASSED in $(( $(date +%s) - t0 )) s: $n checks reported over ssh ($p passed, $s skipped with a reason, 0 failed)"
else
  echo "hw-test-ssh: FAILED (sshd log: $(tail -3 "$work/sshd.log" | tr '\n' ' '))"
fi
exit $fail
