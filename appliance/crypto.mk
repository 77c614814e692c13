# Room.Crypto: SFrame, HPKE, MLS (issue #7).
# Benchmarks: make crypto-bench (BenchmarkDotNet, Release, short job).
BENCHES += crypto-bench

.PHONY: crypto-bench
crypto-bench:
	dotnet run -c Release --project bench/Room.Crypto.Bench -- --filter '*SFrameBench*' --job short --inProcess --artifacts $(ARTIFACTS)/bench-crypto
	dotnet run -c Release --project bench/Room.Crypto.Bench -- --filter '*MlsCommitBench*' --artifacts $(ARTIFACTS)/bench-crypto

# ts-mls peer for the MLS interop tests (Room.Crypto.Tests/TsMlsInteropTests drives it over stdin/stdout).
NPM_DIRS += appliance/tests/Room.Crypto.Tests/interop

# Fast look without BenchmarkDotNet (interleaved stopwatch loops; stable on a busy machine).
.PHONY: crypto-bench-quick
crypto-bench-quick:
	dotnet run -c Release --project bench/Room.Crypto.Bench -- --quick
