#!/usr/bin/env bash
# The signing step, apart from the build: makes a RAUC bundle (verity format) of a built root file system and signs it.
#   sign-bundle.sh ROOTFS_IMG OUT.raucb
# Environment: ROOM_SIGNING_CERT and ROOM_SIGNING_KEY (a PEM file or a PKCS#11 URI: the fleet's release key lives on
# the signing machine, never in this repository), ROOM_BUNDLE_COMPATIBLE (room-box-amd64), ROOM_BUNDLE_VERSION,
# ROOM_BUNDLE_FORMAT (verity; plain only for the host tests, which cannot mount verity bundles).
set -euo pipefail
img=${1:?usage: sign-bundle.sh ROOTFS_IMG OUT.raucb} out=${2:?usage: sign-bundle.sh ROOTFS_IMG OUT.raucb}
cert=${ROOM_SIGNING_CERT:?set ROOM_SIGNING_CERT (and ROOM_SIGNING_KEY)} key=${ROOM_SIGNING_KEY:?set ROOM_SIGNING_KEY}
compatible=${ROOM_BUNDLE_COMPATIBLE:-room-box-amd64}
version=${ROOM_BUNDLE_VERSION:-0}
format=${ROOM_BUNDLE_FORMAT:-verity}
[ -s "$img" ] || { echo "sign-bundle: no root file system image $img" >&2; exit 1; }
case $format in verity|plain) ;; *) echo "sign-bundle: ROOM_BUNDLE_FORMAT must be verity or plain" >&2; exit 2 ;; esac
content=$(mktemp -d) && trap 'rm -rf "$content"' EXIT
ln "$img" "$content/rootfs.img" 2>/dev/null || cp "$img" "$content/rootfs.img"
# RAUC rewrites the manifest it is given (hashes, sizes): written afresh every time.
cat >"$content/manifest.raucm" <<MANIFEST
[update]
compatible=$compatible
version=$version
description=Room box root file system

[bundle]
format=$format

[image.rootfs]
filename=rootfs.img
MANIFEST
rm -f "$out"
rauc bundle --cert="$cert" --key="$key" "$content" "$out" >/dev/null
echo "sign-bundle: $out ($format, $compatible $version, $(du -m --apparent-size "$out" | cut -f1) MB), signed by $(openssl x509 -in "$cert" -noout -subject 2>/dev/null | sed 's/^subject=//')"
