# Room.Call and roomd's Janus calls: node runs the browser's link-E2EE JavaScript against the C# side
# (Room.Call.Tests); Janus, Chromium and network namespaces for roomd's Janus call interop tests.
APT_PACKAGES += nodejs janus chromium iproute2

# Call quality (issue 21): roomd and Chromium publishing through Janus over one shaped link (tc tbf, 5 -> 1 -> 5 Mbit/s),
# measured at the link and at a Chromium subscriber; prints Room against Chromium (bench/Room.CallQuality.Bench).
BENCHES += call-quality-bench

.PHONY: call-quality-bench
call-quality-bench:
	@mkdir -p $(ARTIFACTS)/bench-call-quality
	dotnet run -c $(CONFIG) --no-build --project bench/Room.CallQuality.Bench 2> $(ARTIFACTS)/bench-call-quality/stderr.log; rc=$$?; \
	  echo "stderr: $$(wc -l < $(ARTIFACTS)/bench-call-quality/stderr.log) lines in $(ARTIFACTS)/bench-call-quality/stderr.log"; exit $$rc
