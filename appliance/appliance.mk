# roomd, roomctl and their tests: a real dbus-daemon, gdbus for introspection checks.
APT_PACKAGES += dbus libglib2.0-bin procps

BENCHES += roomd-bench

.PHONY: roomd-bench
roomd-bench:
	@scripts/bench-roomd.sh

# Auto-framing: OpenCV's trained face cascades; the OpenCV runtime package needs GTK 3's libraries.
APT_PACKAGES += opencv-data libgtk-3-0
