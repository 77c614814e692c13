# roomd, roomctl and their tests: a real dbus-daemon, gdbus for introspection checks.
# busctl and systemd-analyze (systemd), ip (iproute2) for the bus, unit and network tests; perl (essential) renames a
# parent "systemd" for the notify test.
APT_PACKAGES += dbus libglib2.0-bin procps systemd iproute2

BENCHES += roomd-bench

.PHONY: roomd-bench
roomd-bench:
	@scripts/bench-roomd.sh

# Auto-framing: OpenCV's trained face cascades; the OpenCV runtime package needs GTK 3's libraries.
APT_PACKAGES += opencv-data libgtk-3-0

# Network administration tests: systemd-networkd (in systemd) runs in a namespace of the test's own, dnsmasq (from
# dnsmasq-base) serves DHCP from the peer namespace; unshare (util-linux, essential) gives networkd its own mounts.
APT_PACKAGES += systemd dnsmasq-base iproute2

# Time administration tests: Debian's systemd-timedated (in systemd) and systemd-timesyncd (its own package in
# Debian 12) run on a private bus in mount namespaces of the test's own; tzdata gives the zones; setpriv (util-linux,
# essential) takes CAP_SYS_TIME from them.
APT_PACKAGES += systemd systemd-timesyncd tzdata
