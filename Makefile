# The two commands a fresh machine needs (see README.md):
#   make demo   install, build, and run the main job on the embedded default
#   make test   install, build, and run every test
BUILD ?= build
JOBS ?= 2

.PHONY: demo test build setup

setup:
	@scripts/setup.sh $(BUILD)

build: setup
	ninja -C $(BUILD) -j$(JOBS)

# The main job needs only the tools, not the test binaries.
demo: setup
	ninja -C $(BUILD) -j$(JOBS) circc circ-opt circ-tasks
	scripts/demo.sh $(BUILD)

test: build
	ninja -C $(BUILD) -j$(JOBS) CircUnitTests
	/usr/lib/llvm-22/bin/lit -sv $(BUILD)/test
