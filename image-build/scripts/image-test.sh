#!/usr/bin/env bash
# make image-test: the built image in QEMU (q35, OVMF, TCG), driven over SSH with a throw-away key written to a copy's
# data partition (as an installer provisions a box). Every check prints PASS or FAIL with what it saw; the exit status
# is 0 only when all passed.
#   1. boot slot A to ready: roomd answers on the system bus, the panel serves its page (boot-to-ready reported);
#      read-only root, tmpfs /tmp and /var/log, volatile bounded journal, firewall loaded, SSH refuses passwords,
#      only root and roomd's user may talk to RAUC;
#   2. bad verity bundles (tampered, foreign key, other compatible) refused by RAUC in the VM, slot B untouched;
#   3. the signed bundle installs into slot B with RAUC, the VM reboots into B, B marks itself good;
#   4. a bundle whose roomd never starts installs into A; A never marks itself good, the box reboots by itself and
#      GRUB falls back to B.
# Environment: OUT (image-build/out), IMAGE_TEST_TIMEOUT (seconds per boot, 900), IMAGE_TEST_KEEP=1 (keep out/test).
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$HERE/out}
W=$OUT/test
BOOT_TIMEOUT=${IMAGE_TEST_TIMEOUT:-900}
for f in room-box.img room-box.raucb rootfs/usr/lib/room/roomd dev-keys/dev-signing.key.pem; do
  [ -e "$OUT/$f" ] || { echo "image-test: $OUT/$f is missing: run make image first" >&2; exit 1; }
done
rm -rf "$W" && mkdir -p "$W"
t0=$(date +%s)
stamp() { echo "image-test: [$(( $(date +%s) - t0 )) s] $*"; }
fails=0 passes=0
pass() { passes=$((passes + 1)); echo "PASS $1${2:+: $2}"; }
fail() { fails=$((fails + 1)); echo "FAIL $1${2:+: $2}"; }
check() { # name, shell command (run here, may use vm; its output is the detail)
  local name=$1 o
  if o=$(eval "$2" 2>&1); then pass "$name" "$(echo "$o" | tail -1)"; else fail "$name" "$(echo "$o" | tail -3 | tr '\n' ' ')"; fi
}

# --- the bad bundles and the broken slot (made on the host, signed by the same signing step) ---
"$HERE/scripts/make-dev-keys.sh" "$W/keys" foreign >/dev/null
sign() { # out payload key compatible
  ROOM_SIGNING_CERT=$3-signing.cert.pem ROOM_SIGNING_KEY=$3-signing.key.pem ROOM_BUNDLE_COMPATIBLE=$4 ROOM_BUNDLE_VERSION=test \
    "$HERE/scripts/sign-bundle.sh" "$2" "$1" >/dev/null
}
stamp "making the bad bundles"
mkdir -p "$W/tiny" && echo "not a root file system" >"$W/tiny/README" && head -c 65536 /dev/urandom >"$W/tiny/random"
mksquashfs "$W/tiny" "$W/tiny.img" -noappend -quiet -no-progress >/dev/null
sign "$W/foreign.raucb" "$W/tiny.img" "$W/keys/foreign" room-box-amd64
sign "$W/other-compatible.raucb" "$W/tiny.img" "$OUT/dev-keys/dev" room-box-arm64-rpi4
cp "$OUT/room-box.raucb" "$W/tampered.raucb"
# One byte of the root file system inside the bundle: the payload starts at offset 0 of a verity bundle.
printf '\xff' | dd of="$W/tampered.raucb" bs=1 seek=$((1024 * 1024)) conv=notrunc status=none
# A slot whose roomd never starts (as if a release shipped a broken roomd): the same tree with roomd replaced by false,
# packed and signed in the background while the VM runs the first steps; kept in OUT/test-cache for the same root.
cache=$OUT/test-cache
broken=$cache/broken-$(cut -c1-16 "$OUT/rootfs.sha256").raucb
make_broken() {
  rm -rf "$cache" && mkdir -p "$cache"
  cp -a "$OUT/rootfs" "$cache/rootfs-broken"
  mkdir -p "$cache/rootfs-broken/etc/systemd/system/roomd.service.d"
  printf '[Service]\nExecStart=\nExecStart=/bin/false\n' >"$cache/rootfs-broken/etc/systemd/system/roomd.service.d/broken.conf"
  mksquashfs "$cache/rootfs-broken" "$cache/rootfs-broken.img" -noappend -comp gzip -Xcompression-level 1 -b 256K \
    -quiet -no-progress >/dev/null
  rm -rf "$cache/rootfs-broken"
  sign "$broken.tmp" "$cache/rootfs-broken.img" "$OUT/dev-keys/dev" room-box-amd64
  rm -f "$cache/rootfs-broken.img"
  mv "$broken.tmp" "$broken"
}
broken_pid=
if [ ! -s "$broken" ]; then make_broken >"$W/broken.log" 2>&1 & broken_pid=$!; fi

# --- the disk: a sparse copy, the test's SSH key on its data partition ---
stamp "preparing the disk (copy of room-box.img, test SSH key on the data partition)"
cp --sparse=always "$OUT/room-box.img" "$W/disk.img"
ssh-keygen -q -t ed25519 -N "" -C image-test -f "$W/id" >/dev/null
mkdir -p "$W/data/room" "$W/data/ssh" "$W/data/rauc"
cp "$W/id.pub" "$W/data/ssh/authorized_keys"
chown 900:900 "$W/data/room" && chmod 750 "$W/data/room" && chmod 700 "$W/data/ssh" "$W/data/rauc" && chmod 600 "$W/data/ssh/authorized_keys"
read -r dstart dsize < <(sfdisk -J "$W/disk.img" | python3 -c 'import json,sys; p=[x for x in json.load(sys.stdin)["partitiontable"]["partitions"] if x.get("name")=="data"][0]; print(p["start"], p["size"])')
mkfs.ext4 -q -F -L data -d "$W/data" "$W/data.img" $((dsize / 2))k
dd if="$W/data.img" of="$W/disk.img" bs=512 seek="$dstart" conv=notrunc,sparse status=none
rm -f "$W/data.img"

# --- QEMU ---
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cp /usr/share/OVMF/OVMF_VARS_4M.fd "$W/vars.fd"
serial=$W/serial.log
: >"$serial"
qemu_pid=
cleanup() {
  [ -z "$qemu_pid" ] || { kill "$qemu_pid" 2>/dev/null || true; wait "$qemu_pid" 2>/dev/null || true; }
  [ -z "$broken_pid" ] || { kill "$broken_pid" 2>/dev/null || true; wait "$broken_pid" 2>/dev/null || true; }
  [ "${IMAGE_TEST_KEEP:-0}" = 1 ] || rm -f "$W/disk.img" "$W"/*.raucb "$W/tiny.img"
}
trap cleanup EXIT
stamp "booting (q35, OVMF, TCG; SSH on 127.0.0.1:$port; serial in $serial)"
boot_t0=$(date +%s.%N)
qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 2048 -M q35 -display none -monitor none \
  -drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
  -drive if=pflash,format=raw,file="$W/vars.fd" \
  -drive file="$W/disk.img",format=raw,if=virtio,cache=unsafe \
  -nic user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:$port-:22 \
  -serial file:"$serial" </dev/null >"$W/qemu.log" 2>&1 &
qemu_pid=$!

SSH=(ssh -i "$W/id" -p "$port" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile="$W/known_hosts"
  -o ConnectTimeout=20 -o ServerAliveInterval=10 -o LogLevel=ERROR root@127.0.0.1)
vm() { "${SSH[@]}" "$@" </dev/null; }

# Waits until the serial console shows the N-th "room-boot:" verdict line; prints it.
wait_verdict() {
  local n=$1 deadline=$(( $(date +%s) + BOOT_TIMEOUT ))
  while [ "$(grep -ac 'room-boot: ' "$serial" || true)" -lt "$n" ]; do
    kill -0 "$qemu_pid" 2>/dev/null || { echo "QEMU ended (see $W/qemu.log)"; return 1; }
    [ "$(date +%s)" -lt "$deadline" ] || { echo "no boot verdict within ${BOOT_TIMEOUT}s"; return 1; }
    sleep 1
  done
  grep -a 'room-boot: ' "$serial" | sed -n "${n}p" | tr -d '\r'
}
ready_line() { echo "$1" | grep -q 'marked good'; }
wait_ssh() {
  local deadline=$(( $(date +%s) + 120 ))
  until vm true 2>/dev/null; do [ "$(date +%s)" -lt "$deadline" ] || return 1; sleep 1; done
}

# 1. First boot: slot A.
v=$(wait_verdict 1) || { fail boot.a.ready "$v"; tail -30 "$serial"; exit 1; }
host_s=$(awk -v a="$boot_t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
if ready_line "$v"; then pass boot.a.ready "$v; host: ${host_s} s from QEMU start (firmware, GRUB, kernel, userspace) under TCG"
else fail boot.a.ready "$v"; fi
wait_ssh || { fail ssh.key "no SSH login with the provisioned key"; exit 1; }
pass ssh.key "root login with the key from the data partition"
check boot.a.slot "vm cat /proc/cmdline | grep -o 'rauc.slot=A'"
check roomd.system-bus "vm busctl --system get-property org.room.Appliance1 /org/room/Appliance1 org.room.Appliance1.Meeting State"
check panel.page "vm \"setpriv --reuid=room-kiosk --regid=room-kiosk --clear-groups curl -fsS http://127.0.0.1:8080/\" | grep -o -m1 '<html[^>]*>'"
kiosk_only() { # root asks the panel: the connection must be refused or closed (the SSH command itself must work)
  local o; o=$(vm 'curl -sS --max-time 30 -o /dev/null http://127.0.0.1:8080/healthz 2>&1; echo rc=$?') || { echo "ssh failed"; return 1; }
  case $o in *rc=0) echo "root was served: $o"; return 1 ;; *rc=*) echo "root gets nothing from the panel: $(echo "$o" | head -1)" ;; *) echo "$o"; return 1 ;; esac
}
check panel.kiosk-user-only kiosk_only
check root.read-only "vm 'findmnt -no FSTYPE,OPTIONS / | grep -E \"^squashfs +ro\" && ! touch /usr/.w 2>/dev/null'"
check tmpfs.tmp-and-log "vm 'findmnt -no FSTYPE /tmp | grep -x tmpfs && findmnt -no FSTYPE /var/log | grep -x tmpfs' | tr '\n' ' '"
check journal.volatile-bounded "vm 'test ! -d /var/log/journal && test -d /run/log/journal && systemd-analyze cat-config systemd/journald.conf | grep -x RuntimeMaxUse=32M'"
check data.persistent "vm 'findmnt -no FSTYPE,TARGET /var/lib/room; findmnt -no FSTYPE /data' | tr '\n' ' ' | grep -E 'ext4 +/var/lib/room ext4'"
check firewall.loaded "vm 'systemctl is-active nftables && nft list chain inet room input | grep -E \"policy drop\"' | tr '\n' ' '"
no_passwords() { # a password-only login must be refused with publickey as the only method offered
  local o; o=$(ssh -p "$port" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile="$W/known_hosts" \
    -o PubkeyAuthentication=no -o PreferredAuthentications=password,keyboard-interactive root@127.0.0.1 true 2>&1) && return 1
  echo "$o" | grep -o 'Permission denied (publickey)'
}
check ssh.no-passwords no_passwords
check rauc.bus.room-user "vm 'setpriv --reuid=room --regid=room --clear-groups rauc status >/dev/null && echo room may ask RAUC'"
check rauc.bus.others-denied "{ vm 'setpriv --reuid=room-panel --regid=room-panel --clear-groups rauc status 2>&1' || true; } | grep -o -m1 'Rejected send message'"
check rauc.booted-a "vm rauc status | grep -E 'Booted from: .*\(A\)'"

# 2. Bad bundles, refused before slot B is touched (B is all zeros until the first install).
stamp "copying the bundles into the VM"
for b in foreign other-compatible tampered; do "${SSH[@]}" "cat > /tmp/$b.raucb" <"$W/$b.raucb"; done
b_untouched() { vm 'cmp -s -n 67108864 /dev/disk/by-partlabel/rootfs-b /dev/zero && grep -q "^B_OK=0" /boot/efi/EFI/BOOT/grubenv'; }
for b in foreign other-compatible tampered; do
  o=$(vm "rauc install /tmp/$b.raucb 2>&1; echo rc=\$?" | tr '\n' ' ')
  if [[ "$o" != *"rc=0"* ]] && b_untouched; then pass "rauc.refuses.$b" "$(echo "$o" | grep -o 'failed.*' | cut -c1-160)"
  else fail "rauc.refuses.$b" "$o"; fi
  vm "rm -f /tmp/$b.raucb"
done

# 3. The signed bundle into slot B, reboot into it.
"${SSH[@]}" "cat > /tmp/room-box.raucb" <"$OUT/room-box.raucb"
stamp "installing room-box.raucb into slot B with RAUC in the VM"
s=$(date +%s)
check rauc.install.b "vm 'rauc install /tmp/room-box.raucb' 2>&1 | tail -1"
check grubenv.order-b "vm 'grep -E \"^(ORDER|B_OK|B_TRY)=\" /boot/efi/EFI/BOOT/grubenv' | tr '\n' ' ' | grep -E 'ORDER=B A B_OK=1 B_TRY=0|B_OK=1 .*ORDER=B A'"
install_s=$(( $(date +%s) - s ))
vm "rm -f /tmp/room-box.raucb; systemctl reboot" || true
v=$(wait_verdict 2) || v="no verdict: $v"
if ready_line "$v"; then pass boot.b.ready "$v"; else fail boot.b.ready "$v"; fi
wait_ssh || fail ssh.after-update "no SSH after the reboot"
check boot.b.slot "vm cat /proc/cmdline | grep -o 'rauc.slot=B'"
check boot.b.marked-good "vm 'grep -E \"^B_(OK|TRY)=\" /boot/efi/EFI/BOOT/grubenv' | tr '\n' ' ' | grep -E 'B_OK=1 B_TRY=0'"
check roomd.after-update "vm busctl --system get-property org.room.Appliance1 /org/room/Appliance1 org.room.Appliance1.Meeting State"

# 4. A slot that never marks itself good: into A, reboot, the box goes back to B by itself.
if [ -n "$broken_pid" ]; then
  stamp "waiting for the broken slot's bundle"
  wait "$broken_pid" || { fail broken.bundle "$(tail -3 "$W/broken.log")"; exit 1; }
fi
"${SSH[@]}" "cat > /tmp/broken.raucb" <"$broken"
stamp "installing a bundle whose roomd never starts into slot A"
check rauc.install.broken-a "vm 'rauc install /tmp/broken.raucb' 2>&1 | tail -1"
vm "rm -f /tmp/broken.raucb; systemctl reboot" || true
v=$(wait_verdict 3) || v="no verdict: $v"
if echo "$v" | grep -q 'slot A is not good'; then pass boot.broken-a.refuses-good "$v"; else fail boot.broken-a.refuses-good "$v"; fi
v=$(wait_verdict 4) || v="no verdict: $v"
if ready_line "$v" && echo "$v" | grep -q 'slot B'; then pass boot.fallback-b.ready "$v"; else fail boot.fallback-b.ready "$v"; fi
wait_ssh || fail ssh.after-fallback "no SSH after the fallback"
check boot.fallback.slot "vm cat /proc/cmdline | grep -o 'rauc.slot=B'"
check boot.fallback.a-unconfirmed "vm 'grep -E \"^A_TRY=\" /boot/efi/EFI/BOOT/grubenv'"

echo "image-test: boot-to-ready (guest uptime at the verdict): $(grep -ao 'ready after [0-9.]* s' "$serial" | tr '\n' ';')"
echo "image-test: first boot ${host_s} s from QEMU start; bundle install ${install_s} s (TCG); total $(( $(date +%s) - t0 )) s"
echo "image-test: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
