# Signet. `make quickstart` and `make test` need only Go and install nothing
# outside the Go caches; `make deps` installs what the tests use beyond Go.
SHELL   := bash
GO      ?= go
BIN     := bin
SIGNET  := $(BIN)/signet
# `signet version` reports these (git describe and the commit, when this is
# a git work tree); without them, the module's build information says.
VERSION ?= $(shell git describe --always --dirty 2>/dev/null)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := $(if $(VERSION),-X main.version=$(VERSION)) $(if $(COMMIT),-X main.commit=$(COMMIT))

# Every Go command here runs without cgo: Signet needs no C, and a program
# linked against libc pays for the dynamic loader on every start (about 7 ms
# of CPU per command on a 2-core VM where page faults are dear; Go's DNS
# resolver and user lookup serve instead of libc's). One setting for all
# targets also lets vet, the e2e suite, the benchmarks and make build share
# compiled packages. Only the race detector, which needs cgo, turns it on.
export CGO_ENABLED := 0

.PHONY: all build deps test chart quickstart e2e conformance bench bench-quick lint fuzz clean

# The Sigstore conformance suite's bundle-verification cases (140 runs), offline.
CONFORMANCE_DIR ?= ../shared/conformance

all: build

# signet, and beside it the programs it runs: signet-server for the server
# roles (admission, gate, fleet), and the KMS provider programs for
# awskms://, gcpkms://, azurekms:// and hashivault:// keys (sigstore's KMS
# plugin protocol). signet is a split build (-tags signet_split): it links
# neither the server roles' Kubernetes, Prometheus and database packages nor
# any cloud SDK, and every command starts faster for it; signet-server is
# the whole command set in one program (what `go build ./cmd/signet` gives).
# All are static (CGO_ENABLED=0, set above), as the webhook's image and the
# released cosign, crane and kubectl are.
KMS_PLUGINS := $(addprefix ./cmd/sigstore-kms-,awskms gcpkms azurekms hashivault)
build:
	$(GO) build -tags signet_split -ldflags '$(LDFLAGS)' -o $(SIGNET) ./cmd/signet
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/signet-server ./cmd/signet
	$(GO) build -o $(BIN)/ $(KMS_PLUGINS)

quickstart: build
	$(SIGNET) quickstart

# What the tests use beyond Go: Chromium, for the HTML report test (inspect).
# As root with apt-get it installs Debian's chromium and says so (112 MB to
# download); otherwise it says how, and fails. make test installs nothing:
# without Chromium that one test skips and says why (in CI, CI=true, it fails).
deps:
	./scripts/deps.sh

# Vet, then every unit test under the race detector. One package is built
# without race instrumentation: golang.org/x/crypto/scrypt, the key files'
# password KDF — pure arithmetic on its own buffers, no goroutines, not
# Signet's code. Instrumented, each key encryption or decryption costs about
# a second of CPU, and the tests make about a hundred; everything else,
# Signet's packages included, is instrumented as before. Last, the API
# server's own checks of the CRDs (internal/crdcheck, a module of its own so
# the API server's packages stay out of signet's dependencies).
#
# The race detector needs cgo and so a C compiler. Without one (Go's own
# install has none) the tests run without it and say so; with CI=true that
# is a failure instead, so CI never runs the weaker suite unnoticed.
RACE_UNINSTRUMENTED := golang.org/x/crypto/scrypt
RACE_TEST := CGO_ENABLED=1 $(GO) test -race -gcflags='$(RACE_UNINSTRUMENTED)=-race=false' -count=1 ./...
test:
	$(GO) vet ./...
	$(GO) vet -tags e2e ./e2e/...
	$(GO) build -tags signet_split -o /dev/null ./cmd/signet
	@cc="$$(CGO_ENABLED=1 $(GO) env CC)"; \
	if command -v "$${cc%% *}" >/dev/null 2>&1; then \
	  echo "$(RACE_TEST)"; $(RACE_TEST); \
	elif [ "$${CI:-}" = true ]; then \
	  echo "make test: the race detector needs a C compiler, and \"$$cc\" was not found (CI=true: refusing to run the tests without it; install gcc)" >&2; exit 1; \
	else \
	  echo "make test: no C compiler (\"$$cc\" was not found), so the tests run WITHOUT the race detector; install one (Debian: apt-get install gcc) to run them with it" >&2; \
	  echo "$(GO) test -count=1 ./..."; $(GO) test -count=1 ./...; \
	fi
	cd internal/crdcheck && $(GO) vet ./... && $(GO) test -count=1 ./...

# The Helm chart (deploy/helm/signet) alone: helm lint --strict and helm
# template for its value sets, checked against examples/kubernetes. make test
# runs it too (go test ./... includes deploy/helm); Helm is built once by
# e2e/kube-tools.sh (pinned, about two minutes cold), then reused.
chart:
	$(GO) test -count=1 -v ./deploy/helm/
	$(GO) test -count=1 -run '^TestHelmChartServeArgs$$' ./cmd/signet/

# Interop suite: real distribution registry and real cosign v3/v2 on 127.0.0.1.
# Tools are built once by e2e/tools.sh into the version-keyed cache outside
# the clone (linked from bin/; with Rekor v1.5.4 and
# Trillian v1.8.0 for the Rekor v1 suite: about 5 more minutes cold).
# The Kubernetes tests run a real kube-apiserver, etcd and kubectl, built
# once by e2e/kube-tools.sh into a cache outside the clone
# (~/.cache/signet-tools; about 14 minutes cold on 2 cores, nothing after).
e2e: build
	./e2e/tools.sh
	./e2e/kube-tools.sh
	SIGNET_BIN=$(abspath $(BIN)) SIGNET_KUBE_TOOLS=$$(./e2e/kube-tools.sh --print-dir) \
		$(GO) test -tags e2e -count=1 -timeout 30m -v ./e2e/...

conformance: build
	bash $(CONFORMANCE_DIR)/run.sh $(abspath $(SIGNET))

# Signet next to cosign on this machine: writes bench/RESULTS.md and
# bench/results.json (about 10 minutes on 2 cores once the tools are built).
bench: build
	./e2e/tools.sh cosign-v3.1.3 registry-v3.1.2 crane-v0.22.1
	$(GO) run ./bench -out bench/RESULTS.md $(BENCH_FLAGS)

# The quick subset (start-up, in-process verify, admission warm, log
# appends; about a minute once the tools are built), compared with
# bench/baseline.json for this machine kind: fails when a figure is more
# than 2x worse. CI runs it. BENCH_FLAGS=-update-baseline refreshes this
# kind's baseline after an intended change (then commit the file).
bench-quick: build
	./e2e/tools.sh cosign-v3.1.3 registry-v3.1.2 crane-v0.22.1
	$(GO) run ./bench -quick -runs 3 -check bench/baseline.json $(BENCH_FLAGS)

# Each fuzz target for a while (CI runs it with FUZZTIME=2s).
FUZZTIME ?= 20s
fuzz:
	GO=$(GO) ./scripts/fuzz.sh ./keys FuzzParsePrivateKey $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./keys FuzzParsePublicKey $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./verify FuzzParseBundle $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./oci FuzzParseBundleFile $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./verify FuzzParseSimpleSigning $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./verify FuzzLegacyLogAnnotation $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./verify FuzzAttestationStatement $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./tlog/logserver FuzzAddEntry $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./tlog/logserver FuzzParseCheckpoint $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./tlog/logserver FuzzReadPath $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./tlog/logserver FuzzParseMySQL $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./attest FuzzBuildPredicate $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./attest FuzzParseStatement $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./attest FuzzParseDetachedPredicate $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./verify FuzzSummarize $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./verify FuzzReduceStatement $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./verify FuzzUnmarshalBundle $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./oci FuzzSplitBundle $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./verify FuzzPlainStruct $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./verify FuzzStatementCheck $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./verify FuzzKeyDSSE $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./inspect FuzzArtifact $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./inspect FuzzSummarize $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./admission FuzzParseReview $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./gate FuzzParseEnvelope $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./policy FuzzCompile $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./policy FuzzCompileConditionFor $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./policy FuzzParseRecalls $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./admission FuzzParseManifests $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./fleet FuzzFold $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./notary FuzzDescribe $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./gate FuzzClassify $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./policy FuzzNormalizeReference $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./policy FuzzPlatformMatches $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./migrate FuzzImport $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./oci FuzzParseLayoutReference $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./oci FuzzParseLayoutIndex $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./oci FuzzRetryAfter $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./kubepolicy FuzzParse $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./mirror FuzzCopy $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./policy FuzzOriginReference $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./trustbundle FuzzParseContents $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./trustbundle FuzzSelfContained $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./doctor FuzzFallback $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./internal/kmsplugin FuzzRun $(FUZZTIME)

lint:
	@test -z "$$(gofmt -l .)" || (gofmt -l . && echo "gofmt: files above need formatting" && exit 1)
	$(GO) vet ./...

clean:
	rm -f $(SIGNET)
