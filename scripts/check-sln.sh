#!/usr/bin/env bash
# Every project in the tree must be in Room.sln, or `make test` would silently skip it. Projects are what git tracks or
# would track (build outputs, node_modules and image-build/out, a root file system, are ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
rc=0
while IFS= read -r p; do
  p=${p#./}
  grep -qF "$(echo "$p" | tr / '\\')" Room.sln || grep -qF "$p" Room.sln || { echo "not in Room.sln: $p"; rc=1; }
done < <(git ls-files --cached --others --exclude-standard -- '*.csproj')
exit $rc
