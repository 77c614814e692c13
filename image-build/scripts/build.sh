#!/usr/bin/env bash
# make image: the room box's disk image and, as a separate signing step, its update bundle and SBOM.
#   OUT/room-box.img             GPT disk image (ESP, rootfs-a, rootfs-b, data)
#   OUT/rootfs.img, .sha256      the root file system (squashfs) and its hash
#   OUT/room-box.raucb           RAUC bundle (verity) of the root file system, signed
#   OUT/room-box.sbom.cdx.json   CycloneDX SBOM: every Debian and NuGet package with its version
#   OUT/build-report.txt         build time, sizes, hash
# Environment: OUT (image-build/out), SOURCE_DATE_EPOCH (the last commit's time), ROOM_KEYRING (the CA the image trusts;
# default: throw-away development keys in OUT/dev-keys), ROOM_SIGNING_CERT/ROOM_SIGNING_KEY (the signing step's key;
# default the development signer), ROOM_IMAGE_SKIP_PUBLISH=1 (reuse OUT/publish: a shortcut while working on the image;
# the programs carry the commit they were published from, so such a build is not one image-verify can reproduce),
# ROOM_IMAGE_STEPS (rootfs image bundle).
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
ROOT=$(cd "$HERE/.." && pwd)
export OUT=${OUT:-$HERE/out}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct)}
steps=${ROOM_IMAGE_STEPS:-rootfs image bundle}
version=0.1.0+$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y%m%d%H%M%S)
export ROOM_IMAGE_VERSION=$version
mkdir -p "$OUT"
t0=$(date +%s)
declare -A took
stamp() { echo "image: [$(( $(date +%s) - t0 )) s] $*"; }
[ "$(id -u)" = 0 ] || { echo "image: the build runs as root (mmdebstrap in root mode, file owners in the image)" >&2; exit 1; }

if [ -z "${ROOM_KEYRING:-}" ]; then
  "$HERE/scripts/make-dev-keys.sh" "$OUT/dev-keys" dev
  ROOM_KEYRING=$OUT/dev-keys/dev-ca.cert.pem
fi

if [[ " $steps " == *" rootfs "* ]]; then
  s=$(date +%s)
  if [ "${ROOM_IMAGE_SKIP_PUBLISH:-0}" = 1 ] && [ -x "$OUT/publish/room/roomd" ]; then stamp "reusing $OUT/publish"
  else stamp "publishing roomd, roomctl and the touch panel (self-contained, ReadyToRun)"; "$HERE/scripts/publish.sh" "$OUT/publish"; fi
  took[publish]=$(( $(date +%s) - s )); s=$(date +%s)
  stamp "building the root file system (mmdebstrap, SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH, $version)"
  PUBLISH=$OUT/publish KEYRING=$ROOM_KEYRING "$HERE/scripts/build-rootfs.sh" >"$OUT/rootfs.log" 2>&1 \
    || { tail -40 "$OUT/rootfs.log" >&2; echo "image: the root file system did not build (see $OUT/rootfs.log)" >&2; exit 1; }
  tail -1 "$OUT/rootfs.log"
  python3 "$HERE/scripts/sbom.py" "$OUT/rootfs" "$version" "$OUT/room-box.sbom.cdx.json"
  "$HERE/scripts/inputs.sh" "$ROOM_KEYRING" >"$OUT/build-inputs.txt"
  took[rootfs]=$(( $(date +%s) - s ))
fi

if [[ " $steps " == *" image "* ]]; then
  s=$(date +%s)
  stamp "assembling the disk image"
  "$HERE/scripts/make-image.sh" "$OUT/rootfs.img" "$OUT/room-box.img"
  took[image]=$(( $(date +%s) - s ))
fi

if [[ " $steps " == *" bundle "* ]]; then
  s=$(date +%s)
  # The signing step: nothing above needs the signing key, and this step needs nothing but the root file system.
  if [ -z "${ROOM_SIGNING_CERT:-}" ]; then
    stamp "signing the bundle with the DEVELOPMENT key (ROOM_SIGNING_CERT/ROOM_SIGNING_KEY name the fleet's)"
    export ROOM_SIGNING_CERT=$OUT/dev-keys/dev-signing.cert.pem ROOM_SIGNING_KEY=$OUT/dev-keys/dev-signing.key.pem
  fi
  ROOM_BUNDLE_VERSION=$version "$HERE/scripts/sign-bundle.sh" "$OUT/rootfs.img" "$OUT/room-box.raucb"
  took[bundle]=$(( $(date +%s) - s ))
fi

mb() { [ -e "$1" ] && du -m --apparent-size "$1" | cut -f1 || echo -; }
{
  echo "room-box $version (SOURCE_DATE_EPOCH $SOURCE_DATE_EPOCH)"
  echo "build time: $(( $(date +%s) - t0 )) s (publish ${took[publish]:--} s, root file system ${took[rootfs]:--} s, disk image ${took[image]:--} s, bundle ${took[bundle]:--} s)"
  echo "root file system: $(mb "$OUT/rootfs.img") MB squashfs ($(du -sm "$OUT/rootfs" 2>/dev/null | cut -f1) MB unpacked), sha256 $(cat "$OUT/rootfs.sha256" 2>/dev/null)"
  echo "disk image: $(mb "$OUT/room-box.img") MB ($( [ -e "$OUT/room-box.img" ] && du -m "$OUT/room-box.img" | cut -f1) MB allocated)"
  echo "bundle: $(mb "$OUT/room-box.raucb") MB; SBOM: $(mb "$OUT/room-box.sbom.cdx.json") MB"
} | tee "$OUT/build-report.txt"
