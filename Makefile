# The two commands of the README, plus conveniences. Both set everything up
# on a fresh Debian 12 machine (packages via scripts/install-deps.sh, which
# installs only what is missing).
BUILD ?= build
JOBS ?= 2

.PHONY: deps configure build test demo format clean

deps:
	bash scripts/install-deps.sh

configure: deps
	@[ -f $(BUILD)/build.ninja ] || cmake -S . -B $(BUILD) -G Ninja

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# Builds and runs every test.
test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The main job on built-in data: compile the example flow, print its summary
# and the derived rules, sample from the freshly initialised flow and
# evaluate the samples' log-density.
demo: build
	$(BUILD)/nfc compile examples/moons.nf --dump=graph | sed -n '1,8p'
	$(BUILD)/nfc compile examples/moons.nf
	$(BUILD)/nfc sample examples/moons.nf -n 8 --seed 1 --init-seed 7

format:
	clang-format-19 -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf $(BUILD)
