# roomd, roomctl and their tests: a real dbus-daemon, gdbus for introspection checks.
APT_PACKAGES += dbus libglib2.0-bin procps

BENCHES += roomd-bench

.PHONY: roomd-bench
roomd-bench:
	@scripts/bench-roomd.sh
