# s3seal — see README.md.
SHELL   := bash
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
GO      ?= go
LDFLAGS := -s -w -X main.version=$(VERSION)
export GOFLAGS := -buildvcs=false

.PHONY: build run test test-unit test-e2e test-backends peers compat bench profile soak fuzz image fmt vet clean

build: ## bin/s3seal
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/s3seal ./cmd/s3seal

run: build ## a local MinIO plus s3seal in front of it (Ctrl-C stops both)
	./test/install-peers.sh minio
	./deploy/local/run.sh

peers: ## the pinned MinIO, mc, KES, rclone and versitygw (.tools/bin), and any missing Debian package the tests need
	@# The Debian packages (apt: network and disk) install while the peers
	@# compile (CPU), which saves minutes on a fresh machine.
	@./test/install-host-tools.sh & host=$$!; \
	  ./test/install-peers.sh minio mc kes rclone versitygw; peers=$$?; \
	  wait $$host; hoststatus=$$?; \
	  exit $$(( peers != 0 || hoststatus != 0 ))

vet: ## go vet over both modules (the product, and test/ with its bench and soak tags), gofmt
	$(GO) vet ./...
	cd test && $(GO) vet ./... && $(GO) vet -tags bench ./bench && $(GO) vet -tags soak ./soak
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }

# kmsclient/kmip runs without -race: github.com/ovh/kmip-go v0.3.3 closes a
# connection's send channel in its read loop while a request may be sending
# on it (a data race inside the library, which the store turns into
# ErrUnavailable when it panics); the race detector would fail the test that
# stops the KMIP server under a live connection, whatever s3seal does.
UNIT_RACE = $(shell $(GO) list ./... | grep -v '/kmsclient/kmip$$')
test-unit: peers ## tests beside the code; kmsclient/kes runs the pinned KES, kmsclient/kmip a pykmip-server
	$(GO) test -race -count=1 -timeout 10m $(UNIT_RACE)
	$(GO) test -count=1 -timeout 5m ./kmsclient/kmip

test-e2e: build peers ## the test/ module: real servers and clients
	cd test && S3SEAL_BACKENDS=minio,versitygw S3SEAL_BIN=$(CURDIR)/bin/s3seal $(GO) test -count=1 -timeout 25m -p 2 ./...

test: vet test-unit test-e2e ## everything CI runs; installs what it needs first

# The backend-parameterised tests over every backend the harness starts
# (S3SEAL_BACKENDS=all: MinIO, versitygw, SeaweedFS, moto's S3, Ceph RGW),
# installing SeaweedFS (a long cold build) and Debian's Ceph first; then
# the backend × feature table of docs/COMPATIBILITY.md is regenerated from
# the go test -json events, failing cells included. BACKENDS narrows it.
BACKENDS      ?= all
BACKENDS_OUT  := $(CURDIR)/.data/backend-results.json
BACKEND_TESTS := ^(TestObjectAPI|TestMCFlow|TestBackendMetadataBudget|TestBackendDifferences)$$
test-backends: build peers ## the backend tests over every backend; rewrites the backend table of docs/COMPATIBILITY.md
	./test/install-peers.sh seaweedfs
	./test/install-host-tools.sh ceph
	@mkdir -p $(dir $(BACKENDS_OUT)) && rm -f $(BACKENDS_OUT)
	cd test && { S3SEAL_BACKENDS=$(BACKENDS) S3SEAL_BIN=$(CURDIR)/bin/s3seal $(GO) test -json -run '$(BACKEND_TESTS)' -parallel 3 -count=1 -timeout 40m . >$(BACKENDS_OUT); status=$$?; \
	  $(GO) run ./compatgen -backends -in $(BACKENDS_OUT) -out $(CURDIR)/docs/COMPATIBILITY.md -command 'make test-backends' && exit $$status; }

COMPAT_OUT := $(CURDIR)/.data/compat-results.json
compat: build peers ## the client compatibility matrix (TestCompatibility); rewrites docs/COMPATIBILITY.md, failing cells included
	@mkdir -p $(dir $(COMPAT_OUT)) && rm -f $(COMPAT_OUT)
	@# The document is written even when cells fail (they are what it
	@# reports); make still fails then.
	cd test && { S3SEAL_BIN=$(CURDIR)/bin/s3seal S3SEAL_COMPAT_OUT=$(COMPAT_OUT) $(GO) test -run '^TestCompatibility$$' -count=1 -timeout 15m .; status=$$?; \
	  $(GO) run ./compatgen -in $(COMPAT_OUT) -out $(CURDIR)/docs/COMPATIBILITY.md -command 'make compat' && exit $$status; }

bench: build ## throughput and memory, direct vs through s3seal; writes BENCHMARKS.md
	./test/install-peers.sh minio
	cd test && S3SEAL_BIN=$(CURDIR)/bin/s3seal $(GO) test -tags bench -run TestBenchmarks -count=1 -timeout 40m -v ./bench -args -out $(CURDIR)/BENCHMARKS.md

PROFILE_DIR  ?= $(CURDIR)/.data/profile
PROFILE_SIZE ?= 4KiB
profile: ## CPU and allocation profiles of the gateway under the 4 KiB bench load (PROFILE_SIZE=64MiB: the 64 MiB transfers), into PROFILE_DIR
	./test/install-peers.sh minio
	CGO_ENABLED=0 $(GO) build -tags pprof -o bin/s3seal-pprof ./cmd/s3seal
	mkdir -p $(PROFILE_DIR)
	cd test && S3SEAL_BIN=$(CURDIR)/bin/s3seal-pprof $(GO) test -tags bench -run TestProfileGateway -count=1 -v ./bench -args -profile-dir $(PROFILE_DIR) -profile-size $(PROFILE_SIZE)

FUZZTIME ?= 10s
fuzz: ## run every fuzz target in the repository for FUZZTIME each
	@# go test fuzzes one target per package and run, so one run per target;
	@# targets under test/ run in that module.
	@set -e; git grep -l '^func Fuzz' -- '*_test.go' | while read -r file; do \
	  dir=$$(dirname "$$file"); mod=.; \
	  case "$$dir" in test|test/*) mod=test; dir=$${dir#test}; dir=$${dir#/}; dir=$${dir:-.};; esac; \
	  for target in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$$file"); do \
	    echo "fuzz: $$target in $$mod/$$dir for $(FUZZTIME)"; \
	    (cd "$$mod" && $(GO) test -run='^$$' -fuzz="^$$target\$$" -fuzztime=$(FUZZTIME) "./$$dir"); \
	  done; \
	done

SOAK_DURATION ?= 2m30s
soak: build ## bounded mixed load through s3seal, every read verified; replaces the Soak section of BENCHMARKS.md
	./test/install-peers.sh minio
	cd test && S3SEAL_BIN=$(CURDIR)/bin/s3seal $(GO) test -tags soak -run TestSoak -count=1 -timeout 30m -v ./soak -args -duration $(SOAK_DURATION) -out $(CURDIR)/BENCHMARKS.md

image: ## container image (needs a Docker engine)
	docker build -f deploy/Dockerfile --build-arg VERSION=$(VERSION) -t s3seal/s3seal:$(VERSION) .

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin .data
