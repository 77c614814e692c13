#!/usr/bin/env bash
# The inputs of a root file system build, one per line: the commit and any uncommitted changes, SOURCE_DATE_EPOCH,
# packages.lock, the keyring. Equal inputs must give an equal root file system (make image-verify).
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
ROOT=$(cd "$HERE/.." && pwd)
# The commit (the published programs carry it in their informational version), and the uncommitted changes except in
# files no build reads (docs, tests, the test and verify scripts).
echo "commit $(git -C "$ROOT" rev-parse HEAD)"
skip=(':!*.md' ':!*/tests/*' ':!*.Tests/*' ':!image-build/scripts/image-test.sh' ':!image-build/scripts/verify.sh'
  ':!image-build/scripts/inputs.sh')
echo "sources $(git -C "$ROOT" ls-tree -r HEAD | grep -vE '\.md$|/tests/|\.Tests/|image-build/scripts/(image-test|verify|inputs)\.sh$' | sha256sum | cut -c1-16)" \
  "changes $(git -C "$ROOT" diff HEAD -- . "${skip[@]}" | sha256sum | cut -c1-16)"
echo "SOURCE_DATE_EPOCH ${SOURCE_DATE_EPOCH:?}"
echo "packages.lock $(sha256sum <"$HERE/packages.lock" | cut -c1-16)"
echo "keyring $(sha256sum <"${1:?usage: inputs.sh KEYRING}" | cut -c1-16)"
