# Thin wrapper over CMake and scripts/: the verbs people type.
#   make deps   install missing Debian packages (idempotent)
#   make run    deps + build + start the local demo (see README)
#   make stop   stop what `make run` started
#   make test   deps + build (normal, ASan+UBSan, libFuzzer) + all tests
#   make bench  benchmarks, printed as tables
#   make fuzz   longer fuzzing (FUZZ_SECONDS each target, default 300)
#   make format clang-format every C file in place
.PHONY: all deps build run stop test bench fuzz format format-check clean

BUILD ?= build
JOBS  ?= $(shell nproc)

all: build

deps:
	@bash scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	@bash scripts/run.sh

stop:
	@bash scripts/stop.sh

test: deps
	@bash scripts/test.sh

bench: build
	@bash bench/run.sh $(BUILD)

fuzz: deps
	@FUZZ_SECONDS=$${FUZZ_SECONDS:-300} bash scripts/fuzz.sh

format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i

format-check:
	@git ls-files '*.c' '*.h' | xargs clang-format --dry-run --Werror

clean:
	rm -rf build build-asan build-fuzz
