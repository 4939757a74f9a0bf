# grpc-azure-auth — every task a developer or CI runs. `make help` lists them.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO        ?= go
BUF       := $(GO) tool -modfile=tools/go.mod buf
# Third-party protos (google/api) come from a pinned npm package, checked by
# its SHA-256, unpacked into a git-ignored folder. No remote buf registry.
PROTO_PKG     := google-proto-files@6.0.1
PROTO_PKG_SHA := 711763f77ea15bbc7436aac53db013b421d2c7b86ae27f4013723970ce54a96e
PROTO_FILES   := google/api/annotations.proto google/api/http.proto google/api/httpbody.proto google/api/field_behavior.proto google/rpc/status.proto
PROTODEPS     := .protodeps/googleapis
# The openapiv2 option protos ship inside the grpc-gateway module we depend on;
# `go mod download` fetches it on a fresh machine (go list -m prints an empty
# Dir until the module is in the cache) and prints where it is.
GATEWAY_MOD    := github.com/grpc-ecosystem/grpc-gateway/v2
FUZZTIME  ?= 30s
# Swagger UI assets, committed under openapi/swaggerui and embedded.
SWAGGER_UI     := swagger-ui-dist@5.35.0
SWAGGER_UI_SHA := 1b8e891893404ea4c3558b6a87e2a3e494e7eedba41168c2ece5800a391a6ea6
SWAGGER_FILES  := swagger-ui-bundle.js swagger-ui.css oauth2-redirect.html oauth2-redirect.js favicon-32x32.png LICENSE NOTICE swagger-ui-bundle.js.LICENSE.txt

.PHONY: help
help: ## List the targets.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-15s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: ## Run the example server (embedded development identity provider unless AZUREAD_TENANT_ID is set).
	$(GO) run ./cmd/grpc-azure-auth serve

.PHONY: token
token: ## Print a dev bearer token from the running server: make token AS=bob SCOPES=Items.Read, or APP=admin-daemon.
	@$(GO) run ./cmd/grpc-azure-auth token $(if $(APP),-app '$(APP)',-user '$(if $(filter default undefined,$(origin AS)),alice,$(AS))') $(if $(SCOPES),-scopes '$(SCOPES)')

.PHONY: test
test: checkgenerate lint browser-deps openapi-validators interop-deps ## Check generated code and lint, then run every test with the race detector (fuzz targets run their seed corpus).
	CGO_ENABLED=0 $(GO) build -o /dev/null ./cmd/grpc-azure-auth
	$(GO) test -race -count=1 ./...
	$(MAKE) -C $(NOTES) test

.PHONY: image
image: ## Build the container image (needs docker; the Dockerfile's static build is checked by make test).
	docker build -t grpc-azure-auth .

.PHONY: screenshot
screenshot: browser-deps ## Refresh docs/swagger-ui.png, the README's picture, from the browser test.
	UPDATE_SCREENSHOT=1 $(GO) test -count=1 -run '^TestSwaggerUIInBrowser$$' ./server

.PHONY: browser-deps
browser-deps: ## Install Debian's chromium (for the Swagger UI browser test) unless chromium is on PATH.
	@if ! command -v chromium >/dev/null 2>&1; then \
	  sudo=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  $$sudo apt-get update && $$sudo apt-get install -y --no-install-recommends chromium; \
	fi

# The OpenAPI validators the tests run on the served documents (swagger-cli,
# Spectral, Redocly; internal/openapilint), pinned by their lockfile. npm ci
# needs only npm (Node.js 20.19 or later): about 30 s and 90 MB on a fresh
# machine (empty npm cache). --ignore-scripts: no install script runs (one
# is telemetry).
OPENAPI_TOOLS := tools/openapi

.PHONY: openapi-validators
openapi-validators: $(OPENAPI_TOOLS)/node_modules/.ok ## Install the pinned OpenAPI validators (npm ci in tools/openapi).
$(OPENAPI_TOOLS)/node_modules/.ok: $(OPENAPI_TOOLS)/package.json $(OPENAPI_TOOLS)/package-lock.json
	cd $(OPENAPI_TOOLS) && npm ci --ignore-scripts --no-audit --no-fund
	touch $@

# Microsoft's Node clients (MSAL, Azure Identity) for the interop tests,
# pinned by interop/node/package-lock.json; npm ci installs exactly that.
INTEROP_NODE := interop/node

.PHONY: interop-deps
interop-deps: $(INTEROP_NODE)/node_modules/.ok ## Install the pinned MSAL for Node and Azure Identity for the interop tests (npm ci).
$(INTEROP_NODE)/node_modules/.ok: $(INTEROP_NODE)/package.json $(INTEROP_NODE)/package-lock.json
	cd $(INTEROP_NODE) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

.PHONY: fuzz
fuzz: ## Fuzz every parser of untrusted input for FUZZTIME each (default 30s).
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

BENCHCOUNT ?= 10
BENCHTIME  ?= 1s

.PHONY: bench
bench: ## Run every benchmark BENCHCOUNT times and write the benchstat tables to .cache/bench/.
	mkdir -p .cache/bench
	cd bench && $(GO) test -run '^$$' -bench . -benchmem -count $(BENCHCOUNT) -benchtime $(BENCHTIME) . | tee ../.cache/bench/raw.txt
	cd bench && { \
	  $(GO) tool benchstat -col /impl -filter '.name:Validate' ../.cache/bench/raw.txt; \
	  $(GO) tool benchstat -col /auth -filter '.name:(UnaryRPC OR ServerStreamRPC OR REST)' ../.cache/bench/raw.txt; \
	  $(GO) tool benchstat -filter '.name:ColdStart' ../.cache/bench/raw.txt; \
	} | tee ../.cache/bench/tables.txt

.PHONY: protodeps
protodeps: $(PROTODEPS)/.ok ## Fetch the pinned google/api protos.
$(PROTODEPS)/.ok: Makefile
	rm -rf $(PROTODEPS) && mkdir -p $(PROTODEPS)
	cd .protodeps && npm pack --silent $(PROTO_PKG) >/dev/null
	echo "$(PROTO_PKG_SHA)  .protodeps/google-proto-files-6.0.1.tgz" | sha256sum -c --quiet
	tar -xzf .protodeps/google-proto-files-6.0.1.tgz -C $(PROTODEPS) --strip-components=1 \
	  package/LICENSE $(addprefix package/,$(PROTO_FILES))
	mkdir -p $(PROTODEPS)/protoc-gen-openapiv2/options
	dir=$$($(GO) mod download -json $(GATEWAY_MOD) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'); \
	  test -n "$$dir" || { echo "go mod download $(GATEWAY_MOD) printed no Dir"; exit 1; }; \
	  cp "$$dir"/protoc-gen-openapiv2/options/annotations.proto "$$dir"/protoc-gen-openapiv2/options/openapiv2.proto $(PROTODEPS)/protoc-gen-openapiv2/options/
	chmod -R u+w $(PROTODEPS)
	touch $@

.PHONY: swagger-ui
swagger-ui: ## Refresh the embedded Swagger UI assets from the pinned npm package.
	rm -rf .cache/swagger-ui && mkdir -p .cache/swagger-ui
	cd .cache/swagger-ui && npm pack --silent $(SWAGGER_UI) >/dev/null
	echo "$(SWAGGER_UI_SHA)  $$(ls .cache/swagger-ui/*.tgz)" | sha256sum -c --quiet
	tar -xzf .cache/swagger-ui/*.tgz -C .cache/swagger-ui --strip-components=1 $(addprefix package/,$(SWAGGER_FILES))
	mkdir -p openapi/swaggerui && cp $(addprefix .cache/swagger-ui/,$(SWAGGER_FILES)) openapi/swaggerui/
	echo "$(SWAGGER_UI)" > openapi/swaggerui/VERSION

.PHONY: generate
generate: protodeps ## Generate gen/ (the library), internal/example/gen and the example's OpenAPI document from proto/.
	rm -rf $(GENERATED)
	$(BUF) generate
	$(call copy_scaffold_inputs)
	$(MAKE) -C $(NOTES) generate

# What make generate writes; checkgenerate looks at nothing else, so work in
# progress on hand-written files never passes for stale generated code.
GENERATED := gen internal/example/gen internal/example/items/api.swagger.json
# The notes example (examples/notes), a module of its own that uses the
# library as a service's team does: its generated files are checked too.
NOTES := examples/notes
GENERATED += $(NOTES)/gen $(NOTES)/third_party/proto
# What the scaffold (grpc-azure-auth init) writes into a new service besides
# its templates: copies of the pinned third-party protos and of tools/go.mod,
# so that the new module builds buf and generates with the Go proxy alone.
PROTOIMPORTS := internal/protoimports
SCAFFOLD     := internal/scaffold/template
GENERATED    += $(PROTOIMPORTS)/azureauth $(PROTOIMPORTS)/google $(PROTOIMPORTS)/protoc-gen-openapiv2 $(SCAFFOLD)/tools
define copy_scaffold_inputs
	rm -rf $(PROTOIMPORTS)/azureauth
	mkdir -p $(PROTOIMPORTS)/azureauth/v1 $(PROTOIMPORTS)/google/api $(PROTOIMPORTS)/protoc-gen-openapiv2/options $(SCAFFOLD)/tools
	cp proto/azureauth/v1/*.proto $(PROTOIMPORTS)/azureauth/v1/
	cp $(PROTODEPS)/google/api/annotations.proto $(PROTODEPS)/google/api/http.proto $(PROTODEPS)/LICENSE $(PROTOIMPORTS)/google/api/
	cp $(PROTODEPS)/protoc-gen-openapiv2/options/*.proto $(PROTOIMPORTS)/protoc-gen-openapiv2/options/
	dir=$$($(GO) mod download -json $(GATEWAY_MOD) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'); \
	  cp "$$dir"/LICENSE $(PROTOIMPORTS)/protoc-gen-openapiv2/LICENSE
	chmod -R u+w $(PROTOIMPORTS)
	cp tools/go.mod $(SCAFFOLD)/tools/go.mod.txt
	cp tools/go.sum $(SCAFFOLD)/tools/go.sum.txt
endef

.PHONY: checkgenerate
checkgenerate: generate ## Fail when generated code differs from what make generate writes.
	@git add -N $(GENERATED) >/dev/null 2>&1 || true
	@if ! git diff --quiet -- $(GENERATED); then \
	  echo "generated code is stale: run make generate and commit"; git diff --stat -- $(GENERATED); exit 1; fi

.PHONY: lint
lint: protodeps ## buf lint, go vet, gofmt.
	$(BUF) lint proto
	$(GO) vet ./...
	cd bench && $(GO) vet ./...
	$(MAKE) -C $(NOTES) lint
	@out=$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go' | grep -v '^gen/')); if [ -n "$$out" ]; then echo "gofmt: $$out"; exit 1; fi
