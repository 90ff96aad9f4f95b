# s3seal — see README.md.
SHELL   := bash
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
GO      ?= go
LDFLAGS := -s -w -X main.version=$(VERSION)
export GOFLAGS := -buildvcs=false

.PHONY: build run test test-unit test-e2e peers bench image fmt vet clean

build: ## bin/s3seal
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/s3seal ./cmd/s3seal

run: build ## a local MinIO plus s3seal in front of it (Ctrl-C stops both)
	./test/install-peers.sh minio
	./deploy/local/run.sh

peers: ## the pinned MinIO, mc, KES and rclone (.tools/bin), and any missing Debian package the tests need
	./test/install-peers.sh minio mc kes rclone
	./test/install-host-tools.sh

vet: ## go vet over both modules (the product, and test/ with its bench tag), gofmt
	$(GO) vet ./...
	cd test && $(GO) vet ./... && $(GO) vet -tags bench ./bench
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }

test-unit: peers ## tests beside the code; kmsclient/kes runs the pinned KES
	$(GO) test -race -count=1 -timeout 10m ./...

test-e2e: build peers ## the test/ module: real servers and clients
	cd test && S3SEAL_BIN=$(CURDIR)/bin/s3seal $(GO) test -count=1 -timeout 25m -p 2 ./...

test: vet test-unit test-e2e ## everything CI runs; installs what it needs first

bench: build ## throughput and memory, direct vs through s3seal; writes BENCHMARKS.md
	./test/install-peers.sh minio
	cd test && S3SEAL_BIN=$(CURDIR)/bin/s3seal $(GO) test -tags bench -run TestBenchmarks -count=1 -timeout 40m -v ./bench -args -out $(CURDIR)/BENCHMARKS.md

image: ## container image (needs a Docker engine)
	docker build -f deploy/Dockerfile --build-arg VERSION=$(VERSION) -t s3seal/s3seal:$(VERSION) .

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin .data
