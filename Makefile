# smelt's front door. `make run` does the main job, `make test` builds and runs every test.
# Both install missing Debian packages first (scripts/deps.sh). Other targets: `make asan`
# (the suite under AddressSanitizer + UndefinedBehaviorSanitizer), `make debug`, `make fuzz`,
# `make fuzz-smoke` (every fuzz target for a few seconds on its seed corpus; not in `make test`),
# `make install PREFIX=DIR` (default /usr/local; docs/deploy.md), `make package` (a Debian package).
BUILD ?= build
JOBS ?= 2
CMAKE_FLAGS ?=

FUZZ_TARGETS := $(basename $(notdir $(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_SECONDS ?= 10
PREFIX ?= /usr/local

.PHONY: all deps build run test install package asan debug fuzz fuzz-configure fuzz-smoke clean

all: build

deps:
	@scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

package: build
	cd $(BUILD) && cpack -G DEB

run: build
	$(BUILD)/smelt tune examples/quickstart.yaml --out runs/quickstart

asan:
	@$(MAKE) --no-print-directory test BUILD=build-asan CMAKE_FLAGS="-DSMELT_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug"

debug:
	@$(MAKE) --no-print-directory build BUILD=build-debug CMAKE_FLAGS="-DCMAKE_BUILD_TYPE=Debug"

fuzz: fuzz-configure
	@cmake --build build-fuzz -j$(JOBS)
	@echo "fuzz targets are in build-fuzz/tests/ (run one with -max_total_time=60 CORPUS_DIR)"

fuzz-configure:
	@scripts/deps.sh fuzz
	@CC=clang-19 cmake -S . -B build-fuzz -DSMELT_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link,address,undefined" >/dev/null

# Builds only the fuzz targets (they need no LLVM), then runs each for FUZZ_SECONDS.
fuzz-smoke: fuzz-configure
	@cmake --build build-fuzz -j$(JOBS) --target $(FUZZ_TARGETS)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz_smoke.sh build-fuzz

clean:
	rm -rf build build-asan build-debug build-fuzz
