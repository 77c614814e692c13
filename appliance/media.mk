# Room.Media: FFmpeg (libavcodec/libavutil/libswscale, the ffmpeg CLI for the benchmark baseline) and speexdsp.
APT_PACKAGES += libavcodec59 libavutil57 libswscale6 libspeexdsp1 libopus0 ffmpeg
# Hardware paths without hardware: Mesa's lavapipe gives FFmpeg a real (software) Vulkan device, so the tests run the
# surface pool, upload and download that the VAAPI encoder and decoder use.
APT_PACKAGES += mesa-vulkan-drivers
BENCHES += media-bench

.PHONY: media-bench
media-bench:
	dotnet run --project bench/Room.Media.Bench -c $(CONFIG) --no-build

# A fixed-seed random run of the SharpFuzz harness's target (depacketizers, jitter buffers) and a replay of the
# corpus an AFL run grew (470 inputs, 829k executions, no crash or hang); real fuzzing: see
# appliance/tests/Room.Media.Fuzz/Program.cs.
EXTRA_TESTS += media-fuzz-smoke

.PHONY: media-fuzz-smoke
media-fuzz-smoke: build
	dotnet appliance/tests/Room.Media.Fuzz/bin/$(CONFIG)/net10.0/Room.Media.Fuzz.dll --random 20000 1
	dotnet appliance/tests/Room.Media.Fuzz/bin/$(CONFIG)/net10.0/Room.Media.Fuzz.dll --replay appliance/tests/Room.Media.Fuzz/corpus
