# Room.Rtc: real peers for the interop tests, and the SRTP benchmark against libsrtp2.
APT_PACKAGES += janus coturn chromium libsrtp2-1 nftables iproute2
BENCHES += rtc-bench

.PHONY: rtc-bench
rtc-bench:
	dotnet run -c $(CONFIG) --no-build --project bench/Room.Rtc.Bench

# A fixed-seed run of the SharpFuzz harness's targets (STUN/TURN, SDP, candidates, RTP, RTCP/TWCC, SRTP/SRTCP) on
# noise and mutated real packets, and a replay of the corpus (36 seeds from our writers, RFC 5769, Janus/Chromium SDP,
# and 407 inputs an AFL run grew: 21.6 M executions over two runs, no crash or hang); real fuzzing: see
# appliance/tests/Room.Rtc.Fuzz/Program.cs.
EXTRA_TESTS += rtc-fuzz-smoke

.PHONY: rtc-fuzz-smoke
rtc-fuzz-smoke: build
	dotnet appliance/tests/Room.Rtc.Fuzz/bin/$(CONFIG)/net10.0/Room.Rtc.Fuzz.dll --random 20000 1
	dotnet appliance/tests/Room.Rtc.Fuzz/bin/$(CONFIG)/net10.0/Room.Rtc.Fuzz.dll --replay appliance/tests/Room.Rtc.Fuzz/corpus
