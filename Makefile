# tug — see README.md. Everything here runs as root on Linux.
GO      ?= go
export PATH := /usr/local/go/bin:$(PATH)
# libcontainer needs cgo; its seccomp support needs libseccomp and this tag.
export CGO_ENABLED := 1
export GOFLAGS := -tags=seccomp
PKGS    := ./...
TESTFLAGS ?= -count=1 -timeout 25m

.PHONY: all build build-node deps test unit bench generate verify demo clean

all: build

deps:
	.ci/deps

build:
	$(GO) build -o bin/tug ./cmd/tug

# The node build: agent, reset, image and bpf only, for machines that only
# run pods (see cmd/tug/build_node.go).
build-node:
	$(GO) build -tags=seccomp,tug_node -o bin/tug-node ./cmd/tug

# The full test suite (real etcd, kubectl, containers, namespaces, eBPF):
# checks first, then every package.
test: deps verify
	$(GO) test $(TESTFLAGS) $(PKGS)

bench: deps build build-node
	$(GO) run ./bench/cmd/benchrun -out bench/results -tug bin/tug -tug-node bin/tug-node

generate:
	bpf/generate.sh

# gofmt, go vet, go.mod tidy and generated code must leave no diff.
verify:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) vet -tags=seccomp,tug_node ./cmd/tug
	@cp go.mod /tmp/tug-go.mod.$$$$ && cp go.sum /tmp/tug-go.sum.$$$$ && $(GO) mod tidy && \
	  if ! git diff --quiet -- go.mod go.sum; then git diff -- go.mod go.sum; echo "go mod tidy changed go.mod/go.sum"; \
	  cp /tmp/tug-go.mod.$$$$ go.mod; cp /tmp/tug-go.sum.$$$$ go.sum; exit 1; fi
	bpf/generate.sh --check

demo: deps build
	./examples/demo.sh

clean:
	rm -rf bin
