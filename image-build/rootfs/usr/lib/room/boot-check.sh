#!/bin/sh
# Decides whether the booted slot is good: roomd owns org.room.Appliance1 on the system bus and answers a call, and
# the touch panel serves its page (to the kiosk's user, the only one it serves). Then `rauc status mark-good`.
# Fails (the unit reboots the box, and GRUB falls back) when roomd or the panel failed to start three times.
set -u
slot=$(sed -n 's/.*rauc\.slot=\([^ ]*\).*/\1/p' /proc/cmdline)
uptime_s() { cut -d' ' -f1 /proc/uptime; }
failed() { # unit: restarted three times or given up
  [ "$(systemctl show -P NRestarts "$1")" -ge 3 ] 2>/dev/null || [ "$(systemctl is-failed "$1")" = failed ]
}
while :; do
  if failed roomd.service; then echo "room-boot: slot ${slot:-?} is not good: roomd failed to start ($(systemctl show -P NRestarts roomd.service) restarts)"; exit 1; fi
  if failed room-panel.service; then echo "room-boot: slot ${slot:-?} is not good: the touch panel failed to start"; exit 1; fi
  if busctl --system get-property org.room.Appliance1 /org/room/Appliance1 org.room.Appliance1.Meeting State >/dev/null 2>&1 \
     && setpriv --reuid=room-kiosk --regid=room-kiosk --clear-groups curl -fsS -o /dev/null --max-time 5 http://127.0.0.1:8080/ 2>/dev/null; then
    break
  fi
  sleep 0.5
done
ready=$(uptime_s)
rauc status mark-good >/dev/null || { echo "room-boot: rauc could not mark slot ${slot:-?} good"; exit 1; }
echo "room-boot: ready after ${ready} s (roomd on the bus, panel serving); slot ${slot:-?} marked good"
