# Room.Fleet (issue 19): the update agent and the fleet channel. Its tests start Debian's mosquitto (MQTT 5, TLS with
# client certificates, the ACL shipped in appliance/Room.Fleet/deploy/mosquitto/) on loopback, a Kestrel HTTPS server
# for bundle downloads, and RAUC's service (rauc, from image-build.mk) on a private dbus-daemon.
APT_PACKAGES += mosquitto rauc dbus
