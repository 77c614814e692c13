#!/usr/bin/env bash
# make hw-test: boots the device lab under QEMU (or, with TARGET=ssh://user@host[:port], runs the suite on a
# real room box) and prints a report of every check. Exit status: 0 only when every expected check reported and
# passed (in the lab a SKIP fails too; on a board a SKIP with its reason is allowed but not counted as passed), the
# suite finished with an exit status that agrees with its report, and (in the lab) the guest handed its verdict to
# isa-debug-exit before the host-side timeout. With HWTEST_FAULT (make hw-test-fault) it passes only when each
# injected fault was caught by its check and nothing else failed.
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
ROOT=$(cd "$HERE/.." && pwd)
CACHE=$HERE/.cache
OUT=$HERE/out
TARGET=${TARGET:-}
FAULT=${HWTEST_FAULT:-}
TIMEOUT=${HWTEST_TIMEOUT:-400}
mkdir -p "$CACHE" "$OUT"
t0=$(date +%s.%N)
stamp() { awk -v a="$t0" -v b="$(date +%s.%N)" -v m="$*" 'BEGIN { printf "hw-test: [%5.1f s] %s\n", b - a, m }'; }

publish() { # [$1 = runtime id, $2 = output folder]: the suite and roomd, self-contained
  local rid=${1:-linux-x64} dir=${2:-$OUT/suite}
  stamp "publishing the device suite (self-contained, $rid)"
  rm -rf "$dir"
  local opts=(-c Release -r "$rid" --self-contained -p:InvariantGlobalization=true -p:DebugType=none
    -p:GenerateDocumentationFile=false -o "$dir" --verbosity quiet -nologo)
  dotnet publish "$HERE/Room.HwTests/Room.HwTests.csproj" "${opts[@]}" >"$OUT/publish.log" 2>&1 || { cat "$OUT/publish.log"; exit 1; }
  # roomd beside it (same runtime, one copy): the suite starts it on a private bus in the guest. Without it the
  # run cannot pass (its checks fail), so a failed publish stops here with the reason.
  dotnet publish "$ROOT/appliance/Room.Appliance/Room.Appliance.csproj" "${opts[@]}" >>"$OUT/publish.log" 2>&1 \
    || { cat "$OUT/publish.log"; echo "hw-test: roomd did not publish" >&2; exit 1; }
  # Auto-framing's OpenCV runtime (~110 MB) is not exercised by the suite; roomd reports framing unavailable without it.
  rm -f "$dir"/libOpenCvSharpExtern.so
}

# The verdict: Room.HwTests judge (Lab/LabVerdict.cs) reads the marker lines against the catalog of checks:
# every expected check reported once with a reason, no FAIL (and in the lab no SKIP), the suite finished and its
# exit status agrees; with faults injected (make hw-test-fault), each fault caught by its check and nothing else
# failed. It writes the results into the test results folder, so `make test`'s closing summary counts the lab.
RESULTS=${HWTEST_RESULTS:-$ROOT/artifacts/test-results}
report() { # $1 = log with marker lines, $2 = title, $3 = the judge (a Room.HwTests for this host), then judge options
  local log=$1 title=$2 judge=$3; shift 3
  local known=$HERE/lab/known-failures name=hw-test
  # With a fault injected every failure counts: the known-failures list is for the code as it is.
  [ -z "$FAULT" ] || { known=/dev/null; name=hw-test-fault; }
  # A board's results beside the lab's, not over them (make test runs both: the lab, then the ssh path).
  [[ "$TARGET" != ssh://* ]] || name=$name-board
  mkdir -p "$RESULTS"
  "$judge" judge --log "$log" --title "$title" --known "$known" --trx "$RESULTS/$name.trx" ${FAULT:+--faults "$FAULT"} "$@"
  local rc=$?
  # The closing line of `make test` (every .NET test and the lab's checks so far).
  "$ROOT/scripts/test-summary.sh" "$RESULTS" 2>/dev/null | tail -1 | sed 's/^/hw-test: so far, /' || true
  return $rc
}

# The kernel package the lab boots (Debian's own, as the appliance runs it); resolved here because what the lab
# builds is fingerprinted with it, and the ssh path may reuse that build.
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
# What the suite and the initramfs are built from: the repository's files (tracked and new ones, not ignored), the
# kernel, the host's packages copied in, and the .NET SDK. make hw-test-fault boots the same build as make hw-test
# with another kernel command line, and make hw-test-ssh copies the same suite to its box: they reuse the build when
# none of this changed (empty outside a git checkout: then they always build).
fingerprint() {
  git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1 || return 0
  {
    (cd "$ROOT" && git ls-files -z -co --exclude-standard | xargs -0 sha256sum 2>/dev/null)
    echo "$pkg"
    dpkg-query -W -f='${Package} ${Version}\n' libc6 libstdc++6 libgcc-s1 busybox-static dbus libasound2 libssl3 libopus0 libspeexdsp1 2>/dev/null
    dotnet --version
  } | sha256sum | cut -d' ' -f1
}
built=$OUT/built-from

if [[ "$TARGET" == ssh://* ]]; then
  # A room box: publish for its architecture, copy the suite over (tar over the same ssh, no sftp needed), run it
  # there under a time limit (GNU timeout signals the suite's whole process group: roomd and its dbus-daemon go
  # too), delete the copy, and print the same report. No lab devices there: checks without their device SKIP.
  # HWTEST_SSH_CONFIG names an ssh_config(5) file for the identity and known_hosts (make hw-test-ssh uses one).
  dest=${TARGET#ssh://}; dest=${dest%/}; port=22
  if [[ "$dest" == *:* ]]; then port=${dest##*:}; dest=${dest%:*}; fi
  [[ "$dest" =~ ^[A-Za-z0-9._-]+@[A-Za-z0-9._-]+$|^[A-Za-z0-9._-]+$ ]] && [[ "$port" =~ ^[0-9]+$ ]] \
    || { echo "hw-test: TARGET must be ssh://user@host[:port], got $TARGET" >&2; exit 2; }
  sshopts=(-p "$port" -o BatchMode=yes -o ConnectTimeout=30 -o ServerAliveInterval=15 -o ServerAliveCountMax=8)
  [ -z "${HWTEST_SSH_CONFIG:-}" ] || sshopts=(-F "$HWTEST_SSH_CONFIG" "${sshopts[@]}")
  rsh() { ssh -n "${sshopts[@]}" "$dest" "$@"; }
  stamp "connecting to $dest (port $port)"
  arch=$(rsh uname -m) || { echo "hw-test: cannot reach $dest over ssh (port $port)" >&2; exit 1; }
  case $arch in
    x86_64) rid=linux-x64 ;; aarch64|arm64) rid=linux-arm64 ;; armv7l|armv6l) rid=linux-arm ;;
    *) echo "hw-test: no .NET runtime for $dest's architecture $arch" >&2; exit 1 ;;
  esac
  suite=$OUT/board-$rid
  if [ "${HWTEST_REUSE:-0}" = 1 ] && [ -x "$suite/Room.HwTests" ]; then
    stamp "reusing $suite"
  elif [ "$rid" = linux-x64 ] && [ -x "$OUT/suite/Room.HwTests" ] && want=$(fingerprint) && [ -n "$want" ] \
    && [ "$(cat "$built" 2>/dev/null)" = "$want" ]; then
    suite=$OUT/suite # the lab's publish: same options, same runtime
    stamp "reusing the lab's build of the suite ($suite): nothing it is built from changed"
  else
    publish "$rid" "$suite"
  fi
  echo "$suite" > "$OUT/board-suite" # which build went to the box, for make hw-test-ssh's judge
  remote=$(rsh 'mktemp -d /tmp/room-hwtests.XXXXXX') || { echo "hw-test: cannot make a folder on $dest" >&2; exit 1; }
  stamp "copying the suite to $dest:$remote ($arch, $(du -sm "$suite" | cut -f1) MB)"
  tar -C "$suite" -cf - . | ssh "${sshopts[@]}" "$dest" "tar -C '$remote' -xf -" || { rsh "rm -rf '$remote'" || true; echo "hw-test: copying to $dest failed" >&2; exit 1; }
  stamp "running the suite on $dest (timeout ${TIMEOUT}s)"
  set +e
  # stderr joins stdout on the box, in one pipe: ssh carries the two as separate channels and the client may
  # interleave them mid-line (libasound's unbuffered error text once split a @@HWTEST line, and the check went missing).
  rsh "cd '$remote' && HWTEST_FAULT='$FAULT' DOTNET_EnableDiagnostics=0 timeout -k 10 $TIMEOUT ./Room.HwTests run 2>&1; rc=\$?; rm -rf '$remote'; exit \$rc" </dev/null 2>&1 \
    | tr -d '\r' | tee "$OUT/board.log"
  rrc=${PIPESTATUS[0]}
  set -e
  ok=0
  judge=$suite/Room.HwTests
  if [ "$rid" != linux-x64 ]; then # the board's build does not run here: a host build judges
    dotnet build "$HERE/Room.HwTests/Room.HwTests.csproj" -c Release --verbosity quiet -nologo -o "$OUT/judge" >/dev/null || exit 1
    judge=$OUT/judge/Room.HwTests
  fi
  report "$OUT/board.log" "board $dest, $arch" "$judge" --exit "$rrc" || ok=1
  case $rrc in
    0|1) ;;                                            # the suite's verdict (judged with the report)
    124|137) echo "hw-test: HANG: the suite gave no verdict within ${TIMEOUT}s on $dest"; ok=1 ;;
    255) echo "hw-test: the ssh connection to $dest failed"; ok=1 ;;
    *) echo "hw-test: the suite ended with status $rrc on $dest"; ok=1 ;;
  esac
  stamp "$([ $ok -eq 0 ] && echo PASSED || echo FAILED)"
  exit $ok
elif [ -n "$TARGET" ]; then
  echo "hw-test: TARGET must be ssh://user@host[:port]" >&2; exit 2
fi

# --- the kernel: Debian's own package, as the appliance runs it, cached under .cache ---
[ -n "$pkg" ] || { echo "hw-test: cannot resolve linux-image-amd64 (apt-get update?)" >&2; exit 1; }
kdir=$CACHE/$pkg
if [ ! -f "$kdir/vmlinux" ]; then
  stamp "downloading $pkg"
  rm -rf "$kdir.tmp" && mkdir -p "$kdir.tmp" && chmod 777 "$kdir.tmp"
  (cd "$kdir.tmp" && apt-get download -q "$pkg" >/dev/null 2>&1) || { echo "hw-test: apt-get download $pkg failed" >&2; exit 1; }
  dpkg -x "$kdir.tmp"/*.deb "$kdir.tmp/root"
  z=$(ls "$kdir.tmp"/root/boot/vmlinuz-*)
  off=$(LC_ALL=C grep -abo $'\xfd7zXZ\x00' "$z" | head -1 | cut -d: -f1)
  # The uncompressed ELF boots through PVH, about twice as fast as the bzImage under TCG.
  tail -c +$((off + 1)) "$z" | xz -dc >"$kdir.tmp/vmlinux" 2>/dev/null || true
  [ -s "$kdir.tmp/vmlinux" ] || { echo "hw-test: no vmlinux in $z" >&2; exit 1; }
  rm -f "$kdir.tmp"/*.deb "$kdir.tmp"/root/boot/vmlinuz-*
  rm -rf "$kdir" && mv "$kdir.tmp" "$kdir"
fi
kver=$(ls "$kdir/root/lib/modules")
[ -f "$kdir/root/lib/modules/$kver/modules.dep" ] || depmod -b "$kdir/root" "$kver"

want=$(fingerprint)
if [ "${HWTEST_REUSE:-0}" = 1 ] && [ -f "$OUT/initramfs.cpio" ] && [ -x "$OUT/suite/Room.HwTests" ]; then
  stamp "reusing $OUT/initramfs.cpio"
elif [ -n "$want" ] && [ -f "$OUT/initramfs.cpio" ] && [ -x "$OUT/suite/Room.HwTests" ] && [ "$(cat "$built" 2>/dev/null)" = "$want" ]; then
  stamp "reusing $OUT/initramfs.cpio: nothing it is built from changed since it was built"
else
rm -f "$built"
publish

# --- the initramfs: busybox, the modules with their dependencies, glibc, the suite ---
stamp "building the initramfs ($kver)"
stage=$OUT/root
rm -rf "$stage" && mkdir -p "$stage"/{bin,proc,sys,dev,tmp,lib64,suite}
cp /bin/busybox "$stage/bin/busybox"
cp "$HERE/lab/init" "$stage/init"
for m in vivid snd-aloop snd-dummy dummy_hcd gadgetfs usbmon uvcvideo virtio_pci virtio-gpu xhci-pci snd-usb-audio; do
  modprobe -d "$kdir/root" -S "$kver" --show-depends "$m" | awk '$1=="insmod" {print $2}'
done | sort -u | while read -r ko; do
  rel=${ko#"$kdir/root"}
  mkdir -p "$stage$(dirname "$rel")" && cp "$ko" "$stage$rel"
done
cp "$kdir/root/lib/modules/$kver"/modules.{order,builtin,builtin.modinfo} "$stage/lib/modules/$kver/"
depmod -b "$stage" "$kver"
cp -r "$OUT/suite/." "$stage/suite/"
# dbus-daemon for roomd, with the users it looks up
mkdir -p "$stage/usr/bin" "$stage/etc"
cp /usr/bin/dbus-daemon "$stage/usr/bin/"
printf 'root:x:0:0:root:/root:/bin/sh\nmessagebus:x:100:101::/nonexistent:/bin/false\n' >"$stage/etc/passwd"
printf 'root:x:0:\nmessagebus:x:101:\n' >"$stage/etc/group"
# libasound (Room.Devices' ALSA driver) and its configuration
mkdir -p "$stage/usr/share" "$stage/usr/lib/x86_64-linux-gnu"
cp -r /usr/share/alsa "$stage/usr/share/"
cp -L /usr/lib/x86_64-linux-gnu/libasound.so.2 "$stage/usr/lib/x86_64-linux-gnu/"
# .NET opens OpenSSL at run time (roomd's crypto), so ldd cannot see it
for l in libssl.so.3 libcrypto.so.3; do cp -L /usr/lib/x86_64-linux-gnu/$l "$stage/usr/lib/x86_64-linux-gnu/"; done
# roomd's call audio opens these at run time too: Opus (else the managed Concentus) and speexdsp (echo canceller,
# noise suppression, resampler). The call's video (FFmpeg) is left out: the loopback call in the lab is audio-only.
for l in libopus.so.0 libspeexdsp.so.1; do if [ -e /usr/lib/x86_64-linux-gnu/$l ]; then cp -L /usr/lib/x86_64-linux-gnu/$l "$stage/usr/lib/x86_64-linux-gnu/"; fi; done
for f in "$stage/suite/Room.HwTests" "$stage"/suite/*.so /usr/lib/x86_64-linux-gnu/libasound.so.2 /usr/bin/dbus-daemon /usr/lib/x86_64-linux-gnu/libssl.so.3; do ldd "$f" 2>/dev/null || true; done \
  | grep -o '/[^ ]*\.so[^ ]*' | sort -u | while read -r lib; do
    mkdir -p "$stage$(dirname "$lib")" && cp -L "$lib" "$stage$lib"
  done
(cd "$stage" && find . | cpio -o -H newc --quiet) >"$OUT/initramfs.cpio"
stamp "initramfs $(du -m "$OUT/initramfs.cpio" | cut -f1) MB"
# Recorded only if nothing changed while it was built (an edit during the publish may or may not be in it).
if [ -n "$want" ] && [ "$(fingerprint)" = "$want" ]; then echo "$want" >"$built"; fi
fi

# Faults by name (or "all"), checked and spelled out by the suite: the guest's /init and the suite read them.
if [ -n "$FAULT" ]; then FAULT=$("$OUT/suite/Room.HwTests" faults "$FAULT") || exit 2; fi

# --- boot ---
log=$OUT/serial.log
# Host-side checks: QEMU's USB speaker writes what the guest plays to a WAV file (checked after the guest
# exits); the display is captured over QMP once the guest says its driver is up.
wav=$OUT/usb-speaker.wav
qmp=$OUT/qmp.sock
screens=$ROOT/artifacts/hw-screens
screen=$screens/lab-display.png
DISPLAY_W=1280 DISPLAY_H=720
mkdir -p "$screens"
rm -f "$wav" "$qmp" "$screen" "$OUT/host-checks.log" "$OUT/.qemu-done" "$log"
: >"$log"
(
  until grep -aq '^@@HWTEST-SCREEN' "$log" 2>/dev/null; do
    [ -e "$OUT/.qemu-done" ] && { echo "@@HWTEST|FAIL|host.display.screendump|0|the guest never reported its display up"; exit 0; }
    sleep 0.5
  done
  HWTEST_QEMU_DONE=$OUT/.qemu-done /usr/bin/python3 "$HERE/lab/host-checks.py" screendump "$qmp" "$screen" $DISPLAY_W $DISPLAY_H
) >"$OUT/host-checks.log" 2>&1 &
watcher=$!
# The composed call (display.kms.scanout): once the guest lists the pixels it flipped, the display must show them.
composed=$screens/lab-composed.png
rm -f "$composed"
(HWTEST_QEMU_DONE=$OUT/.qemu-done /usr/bin/python3 "$HERE/lab/host-checks.py" composed "$qmp" "$composed" "$log") >"$OUT/host-composed.log" 2>&1 &
composer=$!
# roomd's call on the display (display.roomd-call): the same comparison for the pixels the guest lists for roomd's frame.
roomd_screen=$screens/lab-roomd-call.png
rm -f "$roomd_screen"
(HWTEST_QEMU_DONE=$OUT/.qemu-done /usr/bin/python3 "$HERE/lab/host-checks.py" composed "$qmp" "$roomd_screen" "$log" @@HWTEST-SCANOUT-ROOMD) >"$OUT/host-roomd-display.log" 2>&1 &
roomd_composer=$!
stamp "booting the lab (TCG, timeout ${TIMEOUT}s)${FAULT:+, FAULT INJECTED: $FAULT}"
set +e
timeout --foreground -k 5 "$TIMEOUT" qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 1536 -M pc \
  -display none -vga none -monitor none -serial stdio -nic none -no-reboot \
  -kernel "$kdir/vmlinux" -initrd "$OUT/initramfs.cpio" \
  -append "console=ttyS0 panic=-1 quiet loglevel=3 no_timer_check cryptomgr.notests hwtest.fault=$FAULT hwtest.trace=${HWTEST_TRACE:-0}" \
  -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
  -device virtio-gpu-pci,edid=on,xres=$DISPLAY_W,yres=$DISPLAY_H \
  -qmp "unix:$qmp,server=on,wait=off" \
  -device qemu-xhci,id=xhci -device usb-audio,bus=xhci.0,audiodev=spk \
  -audiodev "wav,id=spk,path=$wav,out.frequency=48000,out.channels=2,out.format=s16" \
  </dev/null 2>&1 | stdbuf -oL tr -d '\r' | tee "$log"  # line-buffered: the host watches the log live
qrc=${PIPESTATUS[0]}
touch "$OUT/.qemu-done"
wait "$watcher" "$composer" "$roomd_composer"
set -e
stamp "guest finished (qemu exit $qrc)"
# The host's own checks join the guest's in the report (and fail it like any other check).
/usr/bin/python3 "$HERE/lab/host-checks.py" tone "$wav" 1000 >>"$OUT/host-checks.log" 2>&1 || true
cat "$OUT/host-composed.log" "$OUT/host-roomd-display.log" >>"$OUT/host-checks.log"
grep -a '^@@HWTEST|' "$OUT/host-checks.log" >>"$log" || echo "@@HWTEST|FAIL|host.checks|0|host-checks.py printed no result: see $OUT/host-checks.log" >>"$log"
ok=0
report "$log" "QEMU lab, $pkg" "$OUT/suite/Room.HwTests" --lab || ok=1
# QEMU's exit code carries the suite's status through isa-debug-exit ((rc << 1) | 1): it must match the guest's
# @@HWTEST-EXIT line (the judge checks that line against the report).
grc=$(grep -a '^@@HWTEST-EXIT|' "$log" | tail -1 | cut -d'|' -f2)
case $qrc in
  1|3) if [ "$(( qrc == 1 ))" != "$(( ${grc:-1} == 0 ))" ]; then echo "hw-test: QEMU exit $qrc disagrees with the suite's exit status ${grc:-none}"; ok=1; fi ;;
  124|137) echo "hw-test: HANG: no verdict within ${TIMEOUT}s"; ok=1 ;;
  *) grep -aq 'Kernel panic' "$log" && echo "hw-test: KERNEL PANIC" || echo "hw-test: guest ended without a verdict"; ok=1 ;;
esac
stamp "$([ $ok -eq 0 ] && echo PASSED || echo FAILED)"
exit $ok
