# controller-ui: the touch panel (issue #3). Its browser tests drive Debian's Chromium through Playwright
# (ExecutablePath=/usr/bin/chromium; no browser download) and start their own dbus-daemon and roomd.
# systemd: systemd-analyze verify of the kiosk units. axe-core comes from npm (controller-ui/tests/axe).
APT_PACKAGES += chromium dbus systemd npm
NPM_DIRS += controller-ui/tests/axe
# PanelAccessTests: curl run as another local user (setpriv, from util-linux) against the real panel.
APT_PACKAGES += curl
