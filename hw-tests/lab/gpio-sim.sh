#!/usr/bin/env bash
# hw-tests/lab/gpio-sim.sh KERNEL_DIR KERNEL_RELEASE CACHE: builds gpio-sim.ko for the kernel the lab boots and prints
# its path. Debian's kernels leave GPIO_SIM (and IRQ_SIM, which it needs) unset, so it is built out of tree from
# Debian's own linux-source-<series> against the matching linux-headers, both pinned to the exact Debian version of
# the kernel in KERNEL_DIR (read from its vmlinux banner), with kernel/irq/irq_sim.c linked into the module and its
# irq_to_desc() call (not exported to modules) replaced by generic_handle_irq(). The result is cached under
# CACHE/gpio-sim/<release>_<version>-r<rev>/: later runs take it from there (the downloads are deleted after the build).
set -euo pipefail
kdir=$1 kver=$2 cache=$3
REV=1 # bump when the build below changes
log() { echo "gpio-sim: $*" >&2; }
# "... #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-3 (2026-11-26)": the Debian version of the image the lab boots.
ver=$(LC_ALL=C grep -aom1 "Linux version $kver .* Debian [0-9][0-9A-Za-z.+~-]* (" "$kdir/vmlinux" | sed 's/.* Debian \([^ ]*\) ($/\1/') || true
[ -n "$ver" ] || { log "no Debian version in $kdir/vmlinux's banner"; exit 1; }
series=$(echo "$kver" | cut -d. -f1,2)
out=$cache/gpio-sim/${kver}_${ver}-r$REV
if [ -f "$out/gpio-sim.ko" ]; then echo "$out/gpio-sim.ko"; exit 0; fi
command -v gcc-12 >/dev/null || { log "gcc-12 is needed (the compiler of Debian's $series kernels)"; exit 1; }
work=$out.tmp
rm -rf "$work" && mkdir -p "$work/deb" "$work/root" "$work/mod" && chmod 777 "$work/deb"
log "downloading linux-source-$series, linux-headers-$kver and its kbuild, all $ver"
pkgs=("linux-source-$series=$ver" "linux-headers-$kver=$ver" "linux-headers-${kver%-*}-common=$ver" "linux-kbuild-$series=$ver")
(cd "$work/deb" && apt-get download -q "${pkgs[@]}" >"$work/apt.log" 2>&1) \
  || { cat "$work/apt.log" >&2; log "apt-get download ${pkgs[*]} failed (the archive may no longer serve $ver)"; exit 1; }
for d in "$work"/deb/linux-headers-*.deb "$work"/deb/linux-kbuild-*.deb; do dpkg -x "$d" "$work/root"; done
dpkg -x "$work"/deb/linux-source-*.deb "$work/src"
tar -C "$work" -xJf "$work/src/usr/src/linux-source-$series.tar.xz" \
  "linux-source-$series/drivers/gpio/gpio-sim.c" "linux-source-$series/drivers/gpio/gpiolib.h" "linux-source-$series/kernel/irq/irq_sim.c"
s=$work/linux-source-$series
cp "$s/drivers/gpio/gpio-sim.c" "$work/mod/gpio-sim-main.c"
cp "$s/drivers/gpio/gpiolib.h" "$work/mod/"
sed 's/handle_simple_irq(irq_to_desc(irqnum));/generic_handle_irq(irqnum);/' "$s/kernel/irq/irq_sim.c" >"$work/mod/irq_sim.c"
grep -q 'generic_handle_irq(irqnum);' "$work/mod/irq_sim.c" || { log "irq_sim.c changed: its irq_to_desc() call was not found"; exit 1; }
printf 'obj-m := gpio-sim.o\ngpio-sim-y := gpio-sim-main.o irq_sim.o\n' >"$work/mod/Kbuild"
# The headers' Makefile includes the common tree by its installed path; point it at the extracted one.
hdr=$work/root/usr/src/linux-headers-$kver
echo "include $work/root/usr/src/linux-headers-${kver%-*}-common/Makefile" >"$hdr/Makefile"
make -C "$hdr" M="$work/mod" CC=gcc-12 -j2 modules >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; log "build failed"; exit 1; }
modinfo -F vermagic "$work/mod/gpio-sim.ko" | grep -q "^$kver " || { log "gpio-sim.ko is not for $kver"; exit 1; }
strip --strip-debug "$work/mod/gpio-sim.ko"
mkdir -p "$out" && cp "$work/mod/gpio-sim.ko" "$out/" && echo "$ver" >"$out/debian-version"
rm -rf "$work"
log "built for $kver ($ver): $out/gpio-sim.ko"
echo "$out/gpio-sim.ko"
