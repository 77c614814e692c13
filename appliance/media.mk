# Room.Media: FFmpeg (libavcodec/libavutil/libswscale, the ffmpeg CLI for the benchmark baseline) and speexdsp.
APT_PACKAGES += libavcodec59 libavutil57 libswscale6 libspeexdsp1 ffmpeg
BENCHES += media-bench

.PHONY: media-bench
media-bench:
	dotnet run --project bench/Room.Media.Bench -c $(CONFIG) --no-build
