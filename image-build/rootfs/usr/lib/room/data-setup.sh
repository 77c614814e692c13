#!/bin/sh
# The data partition's folders, made when missing (a new or re-made data partition); existing content is kept.
set -eu
install -d -m 0750 -o room -g room /data/room
install -d -m 0700 -o root -g root /data/ssh /data/rauc
