# Soak (issue 12): two roomd processes in one end-to-end encrypted Janus call under 2 % UDP loss (nftables inside
# Janus's network namespace; this kernel has no netem), sampling RSS, threads, file descriptors and frames lost per
# minute, with least-squares slopes and a verdict (appliance/tests/Room.Soak). Needs root, janus, nftables, iproute2.
# `make soak MINUTES=30`; `make test` runs two minutes of it (soak-ci): non-zero exit on a dropped call, stalled
# media or a clear leak. Reports: artifacts/soak/.
APT_PACKAGES += janus nftables iproute2 dbus
EXTRA_TESTS += soak-ci
MINUTES ?= 30
SOAK := appliance/tests/Room.Soak/bin/$(CONFIG)/net10.0/Room.Soak.dll

.PHONY: soak soak-ci
soak: build
	dotnet $(SOAK) --minutes $(MINUTES) --out $(ARTIFACTS)/soak

soak-ci: build
	dotnet $(SOAK) --minutes 2 --out $(ARTIFACTS)/soak
