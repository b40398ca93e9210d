# The two commands of the README: `make demo` and `make test`. Each installs what is missing
# (scripts/install-deps.sh, Debian packages), configures and builds.
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps configure build test demo bench sanitize clean

all: build

deps:
	@bash scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 900

demo: build
	@bash scripts/demo.sh $(BUILD_DIR)

bench: build
	@bash scripts/bench.sh $(BUILD_DIR)

# AddressSanitizer + UndefinedBehaviorSanitizer build and test run, in its own build folder.
# Optimised (-O2 -g): at -O0 dlib's header-only HOG detector is too slow for the face tests.
sanitize:
	@$(MAKE) test BUILD_DIR=build-asan BUILD_TYPE=RelWithDebInfo CMAKE_FLAGS=-DUNMASK_SANITIZE=ON

clean:
	rm -rf $(BUILD_DIR)
