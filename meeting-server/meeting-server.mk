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

# Join to first decrypted picture in a 10-member meeting, step by step as roomd times it (MeetingJoinTests runs a real
# meeting server, Janus, two roomd and eight more MLS members; the figures go to artifacts/measurements/meeting-join.txt).
BENCHES += meeting-bench
.PHONY: meeting-bench
meeting-bench:
	@rm -f $(ARTIFACTS)/measurements/meeting-join.txt
	@for i in 1 2 3; do out=$$(dotnet test meeting-server/tests/Room.MeetingServer.Tests -c $(CONFIG) --no-build --verbosity quiet \
	  -nologo --filter "FullyQualifiedName~MeetingJoinTests" 2>&1) || { echo "$$out"; exit 1; }; done
	@echo "meeting join (3 runs, roomd's own timeline from the start of its connect):"; cut -d' ' -f2- $(ARTIFACTS)/measurements/meeting-join.txt
