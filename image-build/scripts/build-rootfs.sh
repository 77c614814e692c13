#!/usr/bin/env bash
# Builds the room box's root file system with mmdebstrap and packs it as a read-only squashfs:
#   $OUT/rootfs/            the tree (kept for the test variants)
#   $OUT/rootfs.img         squashfs, the content of root slot A and of the update bundle
#   $OUT/rootfs.sha256      its hash (make image-verify compares two builds)
#   $OUT/packages.installed every installed package and version, checked against packages.lock
# Inputs: packages.txt, packages.lock (every version pinned; ROOM_IMAGE_UNLOCKED=1 ignores it, for make image-lock),
# the published .NET programs ($PUBLISH), the RAUC keyring ($KEYRING) and SOURCE_DATE_EPOCH. Debian comes from this
# machine's own apt sources (/etc/apt/sources.list and sources.list.d).
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:?} PUBLISH=${PUBLISH:?} KEYRING=${KEYRING:?}
: "${SOURCE_DATE_EPOCH:?}"
export SOURCE_DATE_EPOCH LC_ALL=C.UTF-8 TZ=UTC
die() { echo "build-rootfs: $*" >&2; exit 1; }
[ -x "$PUBLISH/room/roomd" ] && [ -x "$PUBLISH/controller-ui/Room.ControllerUi" ] || die "$PUBLISH has no published roomd and panel"
[ -s "$KEYRING" ] || die "no keyring $KEYRING"

sources=()
[ -f /etc/apt/sources.list ] && grep -q '^deb ' /etc/apt/sources.list && sources+=(/etc/apt/sources.list)
for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do [ -f "$f" ] && sources+=("$f"); done
[ ${#sources[@]} -gt 0 ] || die "this machine has no apt sources"

mapfile -t wanted < <(sed 's/#.*//; /^\s*$/d' "$HERE/packages.txt")
mkdir -p "$OUT"
pref=$OUT/room-lock.pref
if [ "${ROOM_IMAGE_UNLOCKED:-0}" = 1 ]; then
  : >"$pref"
else
  [ -s "$HERE/packages.lock" ] || die "no packages.lock (make image-lock writes it)"
  # Every package at exactly its locked version (priority over 1000 also allows the version to be older than the archive's).
  awk '!/^#/ && NF == 2 { printf "Package: %s\nPin: version %s\nPin-Priority: 1001\n\n", $1, $2 }' "$HERE/packages.lock" >"$pref"
fi

rm -rf "$OUT/rootfs" "$OUT/rootfs.img"
mkdir -p "$OUT"
# Documentation, manuals and translations stay out (copyright files stay: they are the packages' licences).
mmdebstrap --mode=root --variant=minbase --architectures=amd64 --components=main --format=directory \
  --include="$(IFS=,; echo "${wanted[*]}")" \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
  --setup-hook='mkdir -p "$1/etc/apt/preferences.d" "$1/etc/initramfs-tools/conf.d" "$1/usr/share/initramfs-tools/modules.d"' \
  --setup-hook="cp '$pref' \"\$1/etc/apt/preferences.d/room-lock.pref\"" \
  --setup-hook="cp '$HERE/initramfs/room.conf' \"\$1/etc/initramfs-tools/conf.d/room.conf\"" \
  --setup-hook="cp '$HERE/initramfs/modules' \"\$1/usr/share/initramfs-tools/modules.d/room.conf\"" \
  --customize-hook="HERE='$HERE' PUBLISH='$PUBLISH' KEYRING='$KEYRING' '$HERE/scripts/customize.sh' \"\$1\"" \
  bookworm "$OUT/rootfs" "${sources[@]}"

chroot "$OUT/rootfs" dpkg-query -W -f='${Package} ${Version}\n' | LC_ALL=C sort >"$OUT/packages.installed"
if [ "${ROOM_IMAGE_UNLOCKED:-0}" != 1 ]; then
  diff -u <(grep -v '^#' "$HERE/packages.lock") "$OUT/packages.installed" >"$OUT/packages.diff" \
    || die "the image's packages differ from packages.lock (see $OUT/packages.diff); make image-lock updates the lock"
fi

# squashfs: read-only by nature; every time stamp is SOURCE_DATE_EPOCH, entries sorted, so equal trees give equal bytes.
# (mksquashfs refuses SOURCE_DATE_EPOCH together with explicit times: the explicit ones set every inode, not only newer ones.)
env -u SOURCE_DATE_EPOCH mksquashfs "$OUT/rootfs" "$OUT/rootfs.img" -noappend -comp gzip -b 256K -no-progress -quiet \
  -mkfs-time "$SOURCE_DATE_EPOCH" -all-time "$SOURCE_DATE_EPOCH" -processors "$(nproc)" >/dev/null
sha256sum "$OUT/rootfs.img" | cut -d' ' -f1 >"$OUT/rootfs.sha256"
echo "build-rootfs: $(du -m --apparent-size "$OUT/rootfs.img" | cut -f1) MB squashfs, $(wc -l <"$OUT/packages.installed") packages, sha256 $(cat "$OUT/rootfs.sha256")"
