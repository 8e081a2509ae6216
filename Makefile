# The two commands of the README, plus conveniences. Both set everything up
# on a fresh Debian 12 machine (packages via scripts/install-deps.sh, which
# installs only what is missing).
BUILD ?= build
JOBS ?= 2

.PHONY: deps configure build test test-sanitize fuzz demo deploy-example bench bench-variational format clean

deps:
	bash scripts/install-deps.sh

configure: deps
	@[ -f $(BUILD)/build.ninja ] || cmake -S . -B $(BUILD) -G Ninja

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# Builds and runs every test.
test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The whole suite again under AddressSanitizer + UndefinedBehaviorSanitizer
# (a separate build in build-asan; leak checking is off: LLVM keeps global
# state alive until exit on purpose).
test-sanitize: deps
	@[ -f build-asan/build.ninja ] || cmake -S . -B build-asan -G Ninja -DNFC_SANITIZE=ON
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 \
		ctest --output-on-failure -j $(JOBS)

# Every libFuzzer target (tests/fuzz/) for FUZZ_SECONDS each, in a separate
# clang build in build-fuzz; a crash, hang or sanitizer report fails it.
# Longer runs: `make fuzz FUZZ_SECONDS=3600`, or one target with
# `tests/fuzz/run.sh build-fuzz 3600 frontend`.
FUZZ_SECONDS ?= 30
fuzz:
	bash scripts/install-deps.sh --fuzz
	@[ -f build-fuzz/build.ninja ] || cmake -S . -B build-fuzz -G Ninja -DNFC_FUZZ=ON \
		-DCMAKE_CXX_COMPILER=clang++-19 -DBUILD_TESTING=OFF
	cmake --build build-fuzz --target nfc_fuzz -j $(JOBS)
	bash tests/fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

# The main job on built-in data: compile the example flow (summary and the
# rules nfc derived), train it on builtin:moons, sample from it, evaluate it
# on fresh data, and draw it. Everything lands in out/.
demo: build
	@mkdir -p out
	$(BUILD)/nfc compile examples/moons.nf --dump=graph | sed -n '1,6p'
	$(BUILD)/nfc compile examples/moons.nf --precision f32
	$(BUILD)/nfc train examples/moons.nf --precision f32 --data builtin:moons --steps 3000 \
		--eval-every 250 --out out/moons.safetensors --json out/moons.json
	$(BUILD)/nfc sample examples/moons.nf --precision f32 --params out/moons.safetensors -n 5
	$(BUILD)/nfc eval examples/moons.nf --precision f32 --params out/moons.safetensors \
		--data builtin:moons --data-seed 1
	$(BUILD)/nfc plot examples/moons.nf --precision f32 --params out/moons.safetensors -o out/moons.png
	@if [ "$(DEPLOY)" != 0 ]; then $(MAKE) --no-print-directory deploy-example; fi

# The trained flow as standalone C++ (examples/deploy/README.md): emitted,
# compiled with the system compiler alone, run. `make demo DEPLOY=0` skips it.
DEPLOY ?= 1
deploy-example: build
	@mkdir -p out/deploy
	@[ -f out/moons.safetensors ] || $(BUILD)/nfc train examples/moons.nf --precision f32 \
		--data builtin:moons --steps 3000 --eval-every 250 --out out/moons.safetensors
	$(BUILD)/nfc emit-cpp examples/moons.nf --params out/moons.safetensors --precision f32 -o out/deploy
	g++ -std=c++17 -O2 -Wall -Wextra -pedantic -Iout/deploy examples/deploy/main.cpp \
		out/deploy/moons.cpp -o out/deploy/moons
	out/deploy/moons

# nfc against a PyTorch reference on the four workloads of issue 7 (Release
# build in build-bench; installs python3-torch and OpenBLAS if missing).
# BENCH_ARGS is passed on, e.g. BENCH_ARGS='--json out/bench.json'.
bench:
	bash bench/run.sh $(BENCH_ARGS)

# Reverse-KL (variational) training against PyTorch (bench/variational.py).
bench-variational:
	bash bench/run.sh --variational $(BENCH_ARGS)

format:
	clang-format-19 -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf $(BUILD) build-asan build-fuzz out
