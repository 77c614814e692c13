#!/usr/bin/env bash
# make image-lock: builds the root file system without pins and writes every installed package's version to
# packages.lock (the next builds install exactly those). Review the diff before committing it.
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
ROOT=$(cd "$HERE/.." && pwd)
OUT=${OUT:-$HERE/out}/lock
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct)}
"$HERE/scripts/make-dev-keys.sh" "${OUT%/lock}/dev-keys" dev
[ -x "${OUT%/lock}/publish/room/roomd" ] || "$HERE/scripts/publish.sh" "${OUT%/lock}/publish"
OUT=$OUT PUBLISH=${OUT%/lock}/publish KEYRING=${OUT%/lock}/dev-keys/dev-ca.cert.pem ROOM_IMAGE_UNLOCKED=1 \
  "$HERE/scripts/build-rootfs.sh"
{
  echo "# Every package of the room box image at its exact version (make image-lock writes this; the build fails when"
  echo "# what it installs differs). Format: name version"
  cat "$OUT/packages.installed"
} >"$HERE/packages.lock"
rm -rf "$OUT"
echo "image-lock: $(grep -vc '^#' "$HERE/packages.lock") packages in $HERE/packages.lock"
