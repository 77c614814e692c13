# Room.Crypto: SFrame, HPKE, MLS (issue #7).
# Benchmarks: make crypto-bench (BenchmarkDotNet, Release, short job).
BENCHES += crypto-bench

.PHONY: crypto-bench
crypto-bench:
	dotnet run -c Release --project bench/Room.Crypto.Bench -- --filter '*SFrameBench*' --job short --inProcess --artifacts $(ARTIFACTS)/bench-crypto
	dotnet run -c Release --project bench/Room.Crypto.Bench -- --filter '*MlsCommitBench*' --artifacts $(ARTIFACTS)/bench-crypto

# ts-mls peer for the MLS interop tests (Room.Crypto.Tests/TsMlsInteropTests drives it over stdin/stdout).
NPM_DIRS += appliance/tests/Room.Crypto.Tests/interop

# Fast look without BenchmarkDotNet (interleaved stopwatch loops; stable on a busy machine). MLS commits in three tree
# shapes (mls-rs's benchmark group, a blank tree, a filled tree) in process CPU time, with an in-process OpenSSL X25519
# reference; see appliance/Room.Crypto/README.md. Only MLS: dotnet run ... -- --quick mls [MlsRs|BlankTree|Filled].
.PHONY: crypto-bench-quick
crypto-bench-quick:
	dotnet run -c Release --project bench/Room.Crypto.Bench -- --quick

# A fixed-seed run of the SharpFuzz harness's targets (MLSMessage, ratchet tree, GroupInfo, GroupSecrets, SFrame header
# and SFrame decrypt for suites 1-5) on noise and mutated corpus inputs, and a replay of the corpus (57 seeds from our
# writers and 122 inputs an AFL run grew: 11.3 M executions in 15 min, no crash or hang, afl-cmin'd); real fuzzing
# (AFL/libFuzzer): see appliance/tests/Room.Crypto.Tests/fuzz/Program.cs.
EXTRA_TESTS += crypto-fuzz-smoke

CRYPTO_FUZZ := appliance/tests/Room.Crypto.Tests/fuzz

.PHONY: crypto-fuzz-smoke
crypto-fuzz-smoke: build
	dotnet $(CRYPTO_FUZZ)/bin/$(CONFIG)/net10.0/Room.Crypto.Fuzz.dll --random 20000 1 $(CRYPTO_FUZZ)/corpus
	dotnet $(CRYPTO_FUZZ)/bin/$(CONFIG)/net10.0/Room.Crypto.Fuzz.dll --replay $(CRYPTO_FUZZ)/corpus
