#!/usr/bin/env bash
# The disk image of a room box (GPT): 1 ESP (GRUB EFI, grub.cfg, grubenv), 2 rootfs-a (the squashfs), 3 rootfs-b
# (empty until the first update), 4 data (ext4: settings, credentials, presets, calendar cache; no update touches it).
#   make-image.sh ROOTFS_IMG OUT.img
# ROOM_SLOT_SIZE (1G) sizes each root slot, ROOM_DATA_SIZE (256M) the data partition. Partition UUIDs are derived from
# SOURCE_DATE_EPOCH (systemd-repart --seed), the file systems' ids too.
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
rootfs=${1:?usage: make-image.sh ROOTFS_IMG OUT.img} out=${2:?usage: make-image.sh ROOTFS_IMG OUT.img}
: "${SOURCE_DATE_EPOCH:?}"
slot=${ROOM_SLOT_SIZE:-1G} data=${ROOM_DATA_SIZE:-256M}
work=$(mktemp -d) && trap 'rm -rf "$work"' EXIT
seed=$(printf 'room-box-%s' "$SOURCE_DATE_EPOCH" | sha256sum | cut -c1-32)
uuid() { printf '%s' "${1:0:8}-${1:8:4}-${1:12:4}-${1:16:4}-${1:20:12}"; }
[ "$(stat -c %s "$rootfs")" -le "$(numfmt --from=iec "$slot")" ] || { echo "make-image: $rootfs does not fit a $slot slot" >&2; exit 1; }

# ESP: GRUB (one EFI binary with every module it needs, at the removable-media path: no NVRAM entry needed).
grub-mkimage -O x86_64-efi -p /EFI/BOOT -o "$work/BOOTX64.EFI" \
  part_gpt fat squash4 normal linux echo test loadenv configfile regexp serial terminal gzio all_video efi_gop sleep
grub-editenv "$work/grubenv" create
grub-editenv "$work/grubenv" set ORDER="A B" A_OK=1 A_TRY=0 B_OK=0 B_TRY=0
mkfs.vfat -C -F 32 -n ESP -i "${seed:0:8}" "$work/esp.img" $((64 * 1024)) >/dev/null
mmd -i "$work/esp.img" ::/EFI ::/EFI/BOOT
mcopy -i "$work/esp.img" "$work/BOOTX64.EFI" "$HERE/grub/grub.cfg" "$work/grubenv" ::/EFI/BOOT/

# Data: the folders room-data-setup.service would make (it makes them again on a re-made partition).
mkdir -p "$work/data/room" "$work/data/ssh" "$work/data/rauc"
chown 900:900 "$work/data/room" && chmod 750 "$work/data/room" && chmod 700 "$work/data/ssh" "$work/data/rauc"
E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH mkfs.ext4 -q -L data -U "$(uuid "$seed")" -E "hash_seed=$(uuid "$seed"),root_owner=0:0" \
  -d "$work/data" "$work/data.img" "$data"

mkdir -p "$work/repart.d"
part() { # file type label size [copy-from]
  { echo "[Partition]"; echo "Type=$2"; echo "Label=$3"; echo "SizeMinBytes=$4"; echo "SizeMaxBytes=$4"
    [ -z "${5:-}" ] || echo "CopyBlocks=$5"; } >"$work/repart.d/$1.conf"
}
part 10-esp esp esp 64M "$work/esp.img"
part 20-rootfs-a root-x86-64 rootfs-a "$slot" "$(realpath "$rootfs")"
part 30-rootfs-b root-x86-64 rootfs-b "$slot"
part 40-data linux-generic data "$data" "$work/data.img"
rm -f "$out"
systemd-repart --empty=create --size=auto --dry-run=no --no-pager --seed="$(uuid "$seed")" \
  --definitions="$work/repart.d" "$out" >"$work/repart.log" 2>&1 || { cat "$work/repart.log" >&2; exit 1; }
echo "make-image: $out ($(du -m --apparent-size "$out" | cut -f1) MB, $(du -m "$out" | cut -f1) MB allocated)"
