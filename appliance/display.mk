# The room display (issue 15): Room.Media's compositor at 1080p per layout against the copy floor, and compose + page
# flip through Room.Devices' KMS scanout where a DRM card with a screen exists (not on the build host: the QEMU lab's
# display.kms.scanout check flips on virtio-gpu). Table: artifacts/bench-display/compose.md.
BENCHES += display-bench

.PHONY: display-bench
display-bench:
	ROOM_ARTIFACTS=$(ARTIFACTS) dotnet run --project bench/Room.Display.Bench -c $(CONFIG) --no-build
