#!/usr/bin/env bash
# The inputs of a root file system build, one per line: the commit and any uncommitted changes, SOURCE_DATE_EPOCH,
# packages.lock, the keyring. Equal inputs must give an equal root file system (make image-verify).
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
ROOT=$(cd "$HERE/.." && pwd)
echo "commit $(git -C "$ROOT" rev-parse HEAD) changes $(git -C "$ROOT" diff HEAD | sha256sum | cut -c1-16)"
echo "SOURCE_DATE_EPOCH ${SOURCE_DATE_EPOCH:?}"
echo "packages.lock $(sha256sum <"$HERE/packages.lock" | cut -c1-16)"
echo "keyring $(sha256sum <"${1:?usage: inputs.sh KEYRING}" | cut -c1-16)"
