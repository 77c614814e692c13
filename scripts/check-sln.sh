#!/usr/bin/env bash
# Every project in the tree must be in Room.sln, or `make test` would silently skip it.
set -euo pipefail
cd "$(dirname "$0")/.."
rc=0
while IFS= read -r p; do
  p=${p#./}
  grep -qF "$(echo "$p" | tr / '\\')" Room.sln || grep -qF "$p" Room.sln || { echo "not in Room.sln: $p"; rc=1; }
done < <(find . -name '*.csproj' -not -path './artifacts/*' -not -path '*/node_modules/*' -not -path '*/bin/*' -not -path '*/obj/*')
exit $rc
