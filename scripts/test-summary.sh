#!/usr/bin/env bash
# Adds up the .trx results of a `dotnet test` run into one closing line: "tests: N passed, N failed, N skipped".
set -euo pipefail
dir=${1:-artifacts/test-results}
passed=0 failed=0 total=0
shopt -s nullglob
files=("$dir"/*.trx)
if [ ${#files[@]} -eq 0 ]; then
  echo "no test results in $dir" >&2
  exit 1
fi
for f in "${files[@]}"; do
  line=$(grep -o '<Counters [^>]*>' "$f" | head -n1)
  get() { echo "$line" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
  total=$((total + $(get total)))
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
done
skipped=$((total - passed - failed))
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
