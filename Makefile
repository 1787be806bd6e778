# The front door.  Everything real happens in meson (build), scripts/ (deps,
# tests, fuzzing) and bench/; this file only names the steps.

BUILD := build

.PHONY: all build run test bench fuzz deps clean

all: build

deps:
	@scripts/install-deps

$(BUILD)/build.ninja:
	meson setup $(BUILD) -Dwerror=true

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

run: build
	scripts/run-demo

test: deps
	scripts/run-tests

bench: build
	bench/run

fuzz: deps
	scripts/run-fuzz

clean:
	rm -rf build build-asan build-fuzz build-bench *.ninja.log *.test.log var/
