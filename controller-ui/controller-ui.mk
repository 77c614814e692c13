# controller-ui: the touch panel (issue #3). Its browser tests drive Debian's Chromium through Playwright
# (ExecutablePath=/usr/bin/chromium; no browser download) and start their own dbus-daemon and roomd.
APT_PACKAGES += chromium dbus systemd
