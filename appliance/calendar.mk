# Calendar (Room.Calendar): its tests and benchmark start Debian's Radicale (CalDAV) themselves.
APT_PACKAGES += radicale

BENCHES += calendar-bench

.PHONY: calendar-bench
calendar-bench:
	dotnet run -c Release --project bench/Room.Calendar.Bench
