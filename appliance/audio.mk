# roomd's audio latency (issue 12): the mouth-to-ear table per stage, p50/p95, before/now (bench/Room.Audio.Bench).
# The table goes to artifacts/bench-audio/mouth-to-ear.md; speexdsp's echo-canceller warnings (capture and playback
# threads out of step, printed on stderr by the library) are counted into a log beside it instead of flooding the output.
BENCHES += audio-bench
AUDIO_BENCH_SECONDS ?= 20

.PHONY: audio-bench
audio-bench:
	@mkdir -p $(ARTIFACTS)/bench-audio
	dotnet run -c $(CONFIG) --no-build --project bench/Room.Audio.Bench -- --seconds $(AUDIO_BENCH_SECONDS) --out $(ARTIFACTS)/bench-audio \
	  2> $(ARTIFACTS)/bench-audio/stderr.log; rc=$$?; \
	  echo "stderr: $$(wc -l < $(ARTIFACTS)/bench-audio/stderr.log) lines in $(ARTIFACTS)/bench-audio/stderr.log"; exit $$rc

# Direction of arrival cost per 20 ms block at 48 kHz, 4, 6 and 8 microphones (issue 20; bench/Room.Doa.Bench, BenchmarkDotNet).
BENCHES += doa-bench

.PHONY: doa-bench
doa-bench:
	dotnet run -c Release --project bench/Room.Doa.Bench -- --filter '*DoaBench*' --job short --inProcess --artifacts $(ARTIFACTS)/bench-doa
