#!/usr/bin/env bash
# Proves the lab catches broken device code: each injected fault must make `hw-test` fail, and fail in the
# check that exercises the broken path. Exits 0 only when every fault was caught.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$HERE/../out
rc=0
# fault=check that must fail
for spec in "v4l2-ioctl=lab.gadget-camera.enumerated" "cec-opcode=display.cec.wake" "ptz-offset=camera.ptz.absolute"; do
  fault=${spec%%=*}; check=${spec#*=}
  echo "hw-test-fault: injecting $fault, expecting $check to fail"
  HWTEST_FAULT=$fault HWTEST_REUSE=${HWTEST_REUSE:-0} "$HERE/hw-test.sh" >"$OUT/fault-$fault.log" 2>&1
  code=$?
  HWTEST_REUSE=1 # build once
  line=$(grep -a "^@@HWTEST|[A-Z]*|$check|" "$OUT/serial.log" | head -1)
  if grep -aq "^@@HWTEST|SKIP|$check|" "$OUT/serial.log"; then
    echo "hw-test-fault: $fault: SKIPPED, $check cannot run in this build: ${line##*|}"
  elif [ $code -ne 0 ] && grep -aq "^@@HWTEST|FAIL|$check|" "$OUT/serial.log"; then
    echo "hw-test-fault: $fault: caught ($check: ${line##*|})"
  else
    echo "hw-test-fault: $fault: NOT CAUGHT (exit $code; $check: ${line:-missing}); see $OUT/fault-$fault.log"
    rc=1
  fi
done
exit $rc
