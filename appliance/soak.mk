# Soak (issue 12): two roomd processes in one end-to-end encrypted Janus call under 2 % UDP loss (nftables inside
# Janus's network namespace; this kernel has no netem), sampling RSS, threads, file descriptors and frames lost per
# minute, with least-squares slopes and a verdict (appliance/tests/Room.Soak). Needs root, janus, nftables, iproute2.
# `make soak MINUTES=30`; `make soak-ci` runs two minutes of it: non-zero exit on a dropped call, stalled media or a
# clear leak. Reports: artifacts/soak/.
# Not in EXTRA_TESTS yet: it finds roomd's memory growing ~40-70 MB/min in a call (also before the soak existed,
# cause not found). It joins `make test` when that leak is fixed; hiding the verdict instead would be a lie.
APT_PACKAGES += janus nftables iproute2 dbus
MINUTES ?= 30
SOAK := appliance/tests/Room.Soak/bin/$(CONFIG)/net10.0/Room.Soak.dll

.PHONY: soak soak-ci
soak: build
	dotnet $(SOAK) --minutes $(MINUTES) --out $(ARTIFACTS)/soak

soak-ci: build
	dotnet $(SOAK) --minutes 2 --out $(ARTIFACTS)/soak
