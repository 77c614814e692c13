#!/usr/bin/env bash
# make image-verify: two complete builds of the root file system from the same inputs (same commit, packages.lock,
# SOURCE_DATE_EPOCH and keyring; .NET published afresh each time, mmdebstrap afresh) must give the same squashfs bytes.
# On a difference it names the files that differ.
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
ROOT=$(cd "$HERE/.." && pwd)
base=${OUT:-$HERE/out}/verify
# The time of make image's build when there is one (a later commit of docs or tests must not change it), else the
# last commit's.
made=${base%/verify}/build-inputs.txt
[ -n "${SOURCE_DATE_EPOCH:-}" ] || [ ! -f "$made" ] || SOURCE_DATE_EPOCH=$(awk '$1 == "SOURCE_DATE_EPOCH" { print $2 }' "$made")
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct)}
"$HERE/scripts/make-dev-keys.sh" "${base%/verify}/dev-keys" dev
export ROOM_KEYRING=${ROOM_KEYRING:-${base%/verify}/dev-keys/dev-ca.cert.pem}
t0=$(date +%s)
# The first build may be the one `make image` made from exactly these inputs (same commit and changes, lock, keyring,
# SOURCE_DATE_EPOCH): then it is compared with one fresh build; otherwise two fresh builds.
first=${base%/verify}
if [ -s "$first/rootfs.sha256" ] && [ -d "$first/rootfs" ] && [ -f "$first/build-inputs.txt" ] \
   && cmp -s "$first/build-inputs.txt" <("$HERE/scripts/inputs.sh" "$ROOM_KEYRING"); then
  echo "image-verify: build 1 is make image's (same inputs: $(head -1 "$first/build-inputs.txt"))"
  builds=(2)
else
  first=$base/1
  builds=(1 2)
fi
for n in "${builds[@]}"; do
  echo "image-verify: build $n"
  OUT=$base/$n ROOM_IMAGE_STEPS=rootfs "$HERE/scripts/build.sh" | sed "s/^/  /"
done
a=$(cat "$first/rootfs.sha256") b=$(cat "$base/2/rootfs.sha256")
if [ "$a" = "$b" ]; then
  echo "image-verify: PASSED: both builds give root file system sha256 $a ($(( $(date +%s) - t0 )) s for two builds)"
  rm -rf "$base"
  exit 0
fi
echo "image-verify: FAILED: build 1 gives $a, build 2 gives $b; files that differ:"
diff -rq --no-dereference "$first/rootfs" "$base/2/rootfs" | head -50 || true
exit 1
