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
if [ "$failed" -gt 0 ]; then
  # CI shows only the tail of the log: name every failed test and the start of its message (an assertion's expected and
  # actual values are on its second and third lines) here.
  python3 - "${files[@]}" <<'PY'
import sys, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
for path in sys.argv[1:]:
    for r in ET.parse(path).getroot().iterfind(".//t:UnitTestResult", ns):
        if r.get("outcome") in ("Failed", "Error", "Timeout", "Aborted"):
            msg = r.find(".//t:Message", ns)
            lines = [l.strip() for l in (msg.text or "").strip().splitlines() if l.strip()] if msg is not None and msg.text else []
            first = " | ".join(lines[:4])[:600]
            print(f"FAILED {r.get('testName')}: {first}")
PY
fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
