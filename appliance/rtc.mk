# Room.Rtc: real peers for the interop tests, and the SRTP benchmark against libsrtp2.
APT_PACKAGES += janus coturn chromium libsrtp2-1 nftables iproute2
BENCHES += rtc-bench

.PHONY: rtc-bench
rtc-bench:
	dotnet run -c $(CONFIG) --no-build --project bench/Room.Rtc.Bench
