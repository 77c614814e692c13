#!/usr/bin/env bash
# make hw-test-fault: proves the lab catches a broken path under test. One lab run with every fault of
# Room.HwTests' Lab/LabFault.cs injected at once, each in a different place of the path:
#   usb-audio-unloaded    the guest's /init leaves snd-usb-audio unloaded (a driver gone)
#   vivid-no-hdmi-output  vivid loaded with output_types=0 (a module parameter changed: no CEC source adapter)
#   roomd-mixer-ioctl     SNDRV_CTL_IOCTL_ELEM_WRITE fails with EIO inside roomd's own process (seccomp filter)
#   ptz-offset            Room.Devices' camera driver sends every pan 10 degrees off (a driver bug)
#   scanout-no-flip       the last composed frame is drawn into the buffer on screen without a page flip: only the
#                         host's QMP screendump can tell (the guest's own read-back of its buffer is right)
# The run passes only when each fault made the check that covers it FAIL (the report says which check caught which
# fault, with that check's reason) and every check no fault touches PASSED: each failure is explained by its fault.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
HWTEST_FAULT=${HWTEST_FAULT:-all} exec "$HERE/hw-test.sh"
