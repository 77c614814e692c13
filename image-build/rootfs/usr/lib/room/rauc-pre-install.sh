#!/bin/sh
# RAUC pre-install handler: reads every file of the mounted bundle before any slot is written. A verity bundle's
# payload is checked by dm-verity only as it is read, so without this a tampered image fails half-way through the
# copy into the other slot; with it, the install stops here and no slot is touched.
set -eu
dir=${RAUC_BUNDLE_MOUNT_POINT:?RAUC_BUNDLE_MOUNT_POINT is not set (run by RAUC as pre-install handler)}
if ! find "$dir" -type f -exec cat {} + >/dev/null; then
  echo "room: the bundle's content does not match its signed hashes; no slot was touched" >&2
  exit 1
fi
