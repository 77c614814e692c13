#!/usr/bin/env bash
# mmdebstrap customize hook: makes the Debian tree a room box. $1 = the root; HERE, PUBLISH, KEYRING from build-rootfs.sh.
# Everything here is deterministic: fixed user ids, no generated keys, no time stamps beyond SOURCE_DATE_EPOCH.
set -euo pipefail
R=$1
ROOT=$(cd "$HERE/.." && pwd)
in_root() { chroot "$R" "$@"; }

# Users with fixed ids (two builds give the same passwd, and file owners in the squashfs).
in_root groupadd --system --gid 901 gpio
in_root groupadd --system --gid 900 room
in_root useradd --system --uid 900 --gid room --groups video,audio,gpio --home-dir /var/lib/room --no-create-home --shell /usr/sbin/nologin room
in_root useradd --system --uid 902 --user-group --groups room --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin room-panel
in_root useradd --system --uid 903 --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin room-kiosk

# roomd, roomctl and the touch panel (published self-contained, ReadyToRun) with their units and bus policy.
install -d "$R/usr/lib/room"
cp -r "$PUBLISH/room/." "$R/usr/lib/room/"
cp -r "$PUBLISH/controller-ui" "$R/usr/lib/room/controller-ui"
ln -sf /usr/lib/room/roomctl "$R/usr/bin/roomctl"
install -m 644 "$ROOT/appliance/Room.Appliance/deploy/roomd.service" "$R/usr/lib/systemd/system/roomd.service"
install -m 644 "$ROOT/image-build/kiosk/room-panel.service" "$R/usr/lib/systemd/system/room-panel.service"
install -m 644 "$ROOT/appliance/Room.Appliance/deploy/org.room.Appliance1.conf" "$R/usr/share/dbus-1/system.d/org.room.Appliance1.conf"

# The image's own files (fstab, firewall, sshd, journald, network, RAUC, units, scripts).
cp -r --no-preserve=ownership "$HERE/rootfs/." "$R/"
chmod 755 "$R"/usr/lib/room/*.sh
# Debian's D-Bus policy for RAUC lets any local user install bundles: ours (root and roomd's user only) replaces it.
in_root dpkg-divert --quiet --local --rename --divert /usr/share/dbus-1/system.d/de.pengutronix.rauc.conf.debian \
  --add /usr/share/dbus-1/system.d/de.pengutronix.rauc.conf
install -m 644 "$HERE/dbus/de.pengutronix.rauc.conf" "$R/usr/share/dbus-1/system.d/de.pengutronix.rauc.conf"
install -D -m 644 "$KEYRING" "$R/etc/rauc/keyring.pem"

# Mount points of the read-only root.
install -d "$R/data" "$R/boot/efi" "$R/var/lib/room"
echo room-box >"$R/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\troom-box\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$R/etc/hosts"
ln -sf /run/systemd/resolve/stub-resolv.conf "$R/etc/resolv.conf"
{
  echo "IMAGE_ID=room-box"
  echo "IMAGE_VERSION=${ROOM_IMAGE_VERSION:-0}"
} >>"$R/usr/lib/os-release"

# Services: what runs, what never does on a read-only appliance.
in_root systemctl enable roomd.service room-panel.service room-mark-good.service room-ssh-hostkeys.service \
  room-data-setup.service systemd-networkd.service systemd-resolved.service nftables.service ssh.service >/dev/null 2>&1
for u in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer \
         systemd-timesyncd.service rauc-mark-good.service systemd-networkd-wait-online.service; do
  in_root systemctl mask "$u" >/dev/null 2>&1 || true
done
in_root systemctl set-default multi-user.target >/dev/null 2>&1

# Nothing random or host-specific stays in the tree: SSH host keys are made on the data partition at first boot, the
# machine id at every boot (empty file: systemd makes a transient one on a read-only root).
rm -f "$R"/etc/ssh/ssh_host_*
: >"$R/etc/machine-id"
rm -f "$R/var/lib/dbus/machine-id" "$R/var/cache/ldconfig/aux-cache" "$R/etc/apt/preferences.d/room-lock.pref"
rm -f "$R"/var/cache/debconf/*-old "$R"/var/lib/dpkg/*-old "$R/etc/.pwd.lock" "$R/var/lib/systemd/catalog/database"
find "$R/var/log" -type f -delete
find "$R/var/cache/apt" "$R/var/lib/apt/lists" -type f -delete 2>/dev/null || true
