# Room — the two commands people need are `make run` and `make test`; both set up what they need.
# Each area adds to the variables below from its own fragment (*/<area>.mk), so areas never edit this file.

SHELL := /bin/bash
.DEFAULT_GOAL := help
CONFIG ?= Release
ARTIFACTS := $(CURDIR)/artifacts
RESULTS := $(ARTIFACTS)/test-results
export DOTNET_CLI_TELEMETRY_OPTOUT := 1
export DOTNET_NOLOGO := 1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE := 1

# Debian packages every area needs; fragments append.
APT_PACKAGES := dbus make
# Folders with a package.json whose node_modules tests use; fragments append.
NPM_DIRS :=
# Extra test targets run after the .NET tests (e.g. hw-test, browser tests); fragments append.
EXTRA_TESTS :=
# Benchmark targets; fragments append.
BENCHES :=

include $(sort $(wildcard */*.mk))

.PHONY: help deps build test run bench dotnet-test check-sln clean

help:
	@echo "make run    - roomd with simulated devices on a private bus, and the touch panel"
	@echo "make test   - every test this machine can run (installs what it needs)"
	@echo "make bench  - benchmarks"

deps:
	@scripts/ensure-apt.sh $(sort $(APT_PACKAGES))
	@for d in $(NPM_DIRS); do \
	  if [ ! -d $$d/node_modules ] || [ $$d/package-lock.json -nt $$d/node_modules/.package-lock.json ]; then \
	    echo "npm ci in $$d"; (cd $$d && npm ci --no-audit --no-fund --loglevel=error) || exit 1; \
	  fi; \
	done
	@dotnet restore Room.sln --verbosity quiet

build: deps
	@dotnet build Room.sln -c $(CONFIG) --no-restore --verbosity quiet -nologo

check-sln:
	@scripts/check-sln.sh

dotnet-test: build check-sln
	@rm -rf $(RESULTS)
	scripts/dotnet-test-lanes.sh $(CONFIG) $(RESULTS); rc=$$?; scripts/test-summary.sh $(RESULTS) || rc=1; exit $$rc

# The closing line counts every .NET test and the checks the extra targets wrote into $(RESULTS) (the lab's too).
test: dotnet-test $(EXTRA_TESTS)
	@scripts/test-summary.sh $(RESULTS) && echo "make test: all passed"

run: build
	@scripts/run-room.sh

bench: build $(BENCHES)

clean:
	rm -rf $(ARTIFACTS)
	find . -name bin -o -name obj -type d -prune -exec rm -rf {} +
