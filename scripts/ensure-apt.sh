#!/usr/bin/env bash
# Installs the Debian packages named as arguments, only those missing; idempotent and quiet when all are there.
set -euo pipefail
missing=()
for p in "$@"; do
  # NodeSource's nodejs bundles npm and conflicts with Debian's npm package: an npm already on PATH is enough.
  if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then continue; fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# Packages such as janus, coturn and openssh-server would start their system services on a systemd host; the
# tests start their own instances, so services are kept from starting during the install (policy-rc.d, 101 =
# action not allowed), unless the machine already has its own policy.
policy=/usr/sbin/policy-rc.d
own_policy=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null && $SUDO chmod 755 "$policy" && own_policy=1
fi
trap '[ -z "$own_policy" ] || $SUDO rm -f "$policy"' EXIT
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
