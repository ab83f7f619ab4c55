# Omni-MCP controller. `make run` and `make test` install what they need (scripts/setup.sh).
SWIFT ?= swift
VENV ?= .venv
BIN := .build/debug/controller
COVERAGE_GATES := Desired=90 Actual=85 Reconciler=90 JSON=90 HTTP=85 Gateway=90 Tracing=90

.PHONY: setup build run test lint validate bench docs clean

setup:
	@scripts/setup.sh

build: setup
	$(SWIFT) build

# The controller on the repository's own servers/ and config/ (development: the demo server on).
# Ctrl-C stops every server and exits.
run: build
	$(BIN) run --env $${OMNI_ENV:-development}

validate: build
	$(BIN) validate

test: setup
	$(SWIFT) build --build-tests --enable-code-coverage
	$(SWIFT) test --skip-build --enable-code-coverage 2>&1 | scripts/test-summary.sh
	$(VENV)/bin/python scripts/coverage-gate.py $(COVERAGE_GATES)
	CONTROLLER=$(BIN) MCP_DEMO=.build/debug/mcp-demo $(VENV)/bin/python -m pytest -q Tests/differential Tests/interop Tests/http Tests/gateway Tests/otel

lint: setup
	$(SWIFT) format lint --strict --recursive Package.swift Sources Tests bench
	scripts/check-environment-reads.sh

bench: setup
	bench/validate.sh
	bench/spawn.sh
	bench/reload.sh
	bench/http.sh
	bench/gateway.sh
	bench/continuity.sh
	bench/scale.sh

# Regenerates the committed artefacts that tests compare against.
docs: build
	$(BIN) matrix > docs/servers.md
	$(BIN) schema --kind manifest > schema/manifest.schema.json
	$(BIN) schema --kind config > schema/config.schema.json

clean:
	rm -rf .build $(VENV)
