# basalt front door. The README's quick start is `make run` and `make test`.
JOBS ?= $(shell nproc)
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: run test build server debug fuzz bench deps clean

deps:
	@scripts/install-deps

build: deps
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)

# Only the binary, for `make run`.
server: deps
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS) --target basalt

debug: deps
	cmake --preset debug >/dev/null
	cmake --build --preset debug -j $(JOBS)

run: server
	@echo "basalt on http://$(HOST):$(PORT)  try:"
	@echo "  curl http://$(HOST):$(PORT)/healthz"
	@echo "  curl http://$(HOST):$(PORT)/metrics"
	@echo "  curl -d '{\"hello\":\"basalt\"}' http://$(HOST):$(PORT)/v1/echo"
	@echo "  curl http://$(HOST):$(PORT)/v1/chat/completions -d '{\"model\":\"builtin-chat\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}'"
	./build/release/basalt serve --host $(HOST) --port $(PORT)

# Unit tests run twice: plain (release) and under ASan+UBSan (debug).
# Integration tests run against the release binary on port 0.
test: build debug
	cd build/release && ctest --output-on-failure -j $(JOBS) --timeout 600
	cd build/debug && ctest --output-on-failure -j $(JOBS) --timeout 600 -L 'unit|fuzz-replay'

fuzz: deps
	cmake --preset fuzz >/dev/null
	cmake --build --preset fuzz -j $(JOBS)

bench: build
	bench/http

clean:
	rm -rf build
