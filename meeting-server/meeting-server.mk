# meeting-server (issue #13): organisation CA, enrolment, sign-in (local Argon2id accounts, LDAP), meetings, lobby and
# the MLS delivery service. Its tests start Debian's slapd and PostgreSQL themselves (private temp dirs, loopback ports).
APT_PACKAGES += slapd ldap-utils postgresql libldap-2.5-0
# JanusRecordingTests: janus-pp-rec converts Janus's VideoRoom recordings, FFmpeg decodes them.
APT_PACKAGES += janus-tools ffmpeg
# The web client (issue 14): ts-mls bundled for its MLS worker (npm ci runs the bundler), axe-core for its tests.
NPM_DIRS += meeting-server/web-client
APT_PACKAGES += chromium npm
# make run (scripts/run-room.sh) starts Janus and the meeting-server beside roomd and provisions the demo with curl + jq.
APT_PACKAGES += janus curl jq iproute2 util-linux
