# hw-tests: Room.Devices against the kernel's real drivers in a QEMU lab (vivid, uvcvideo + a gadgetfs PTZ
# camera on dummy_hcd, snd-aloop, virtio-gpu), or on a real room box with TARGET=ssh://user@host[:port].
APT_PACKAGES += qemu-system-x86 python3 busybox-static cpio kmod xz-utils openssh-client libasound2 dbus libssl3
# hw-test-ssh: a throw-away OpenSSH server in a network namespace (the package's own service is not used).
APT_PACKAGES += openssh-server iproute2 procps

.PHONY: hw-test hw-test-fault hw-test-ssh hw-lab-unit

# The lab's host-side checkers (WAV tone, PNG size) against good and malformed files: seconds, no VM.
EXTRA_TESTS += hw-lab-unit
hw-lab-unit:
	@python3 -m unittest discover -s hw-tests/lab -p 'test_*.py'

# Passes reliably here (TCG guest, ~3-5 min on a loaded 2-core host): part of `make test`.
EXTRA_TESTS += hw-test

# Its checks go into $(RESULTS) as hw-test.trx, so the closing summary of `make test` counts them.
hw-test: deps
	@HWTEST_RESULTS="$(RESULTS)" TARGET="$(TARGET)" hw-tests/lab/hw-test.sh

# The lab must catch a broken path under test: one more lab run with every fault of Lab/LabFault.cs injected (a driver
# unloaded, a module parameter changed, an ioctl failing inside roomd, a driver bug); passes only if each fault's
# check fails and every other check passes. Part of `make test` too (one more guest boot; it reuses hw-test's build
# when nothing it is built from changed, see fingerprint in lab/hw-test.sh).
EXTRA_TESTS += hw-test-fault
hw-test-fault: deps
	@HWTEST_RESULTS="$(RESULTS)" hw-tests/lab/hw-test-fault.sh

# The room-box path, `make hw-test TARGET=ssh://user@host[:port]`, against a real sshd started for the run in a
# network namespace (throw-away host and client keys, strict host-key checking): the suite runs on this host over
# ssh and every device check must SKIP with its reason. Needs root. About a minute (publish + the suite).
EXTRA_TESTS += hw-test-ssh
hw-test-ssh: deps
	@hw-tests/lab/hw-test-ssh.sh
