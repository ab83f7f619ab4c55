# Omni-MCP controller. `make run` and `make test` install what they need (scripts/setup.sh).
SWIFT ?= swift
VENV ?= .venv
BIN := .build/debug/controller
# ALL: the whole project, every file under Sources/ that the coverage export lists: every Swift
# file of the test binary that holds code, with the profiles of the controller processes the
# end-to-end tests run merged in (not McpDemo, not the C shim; scripts/coverage-gate.py).
COVERAGE_GATES := Desired=90 Actual=85 Reconciler=90 JSON=90 HTTP=85 Gateway=90 Controller=80 Egress=85 Tracing=90 ALL=80

# CI runs these targets and nothing else: .github/workflows/*.yml and .ci/run call the same
# ones (Tests/deploy checks that the two lists agree).
.PHONY: setup build run test lint validate security health-check nightly-health bench docs clean

setup:
	@scripts/setup.sh

# Warnings are errors in every target (Package.swift), so a plain build is the strict one.
build: setup
	$(SWIFT) build

# The controller on the repository's own servers/ and config/ (development: the demo server on).
# Ctrl-C stops every server and exits.
run: build
	$(BIN) run --env $${OMNI_ENV:-development}

# --strict adds warnings for long-lived credentials where an identity route exists.
validate: build
	$(BIN) validate --strict

# No secret-shaped strings committed; .env.example complete (validate fails on a variable it
# does not list); the environment read in one place.
security: build
	$(VENV)/bin/python scripts/check-secrets.py
	$(BIN) validate
	scripts/check-environment-reads.sh

# The controller on this repository (development layer: the demo server), gated on
# `controller health` within 60 s.
health-check: build
	scripts/health-check.sh --env development --wait 60

# Every server whose secrets are set in the environment, enabled, in the production layer.
nightly-health: build
	scripts/nightly-health.sh

test: setup
	$(SWIFT) build --build-tests --enable-code-coverage
	$(SWIFT) test --skip-build --enable-code-coverage 2>&1 | scripts/test-summary.sh
	$(VENV)/bin/python scripts/coverage-gate.py $(COVERAGE_GATES)
	CONTROLLER=$(BIN) MCP_DEMO=.build/debug/mcp-demo $(VENV)/bin/python -m pytest -q Tests/differential Tests/interop Tests/http Tests/gateway Tests/deploy Tests/egress Tests/otel

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
	bench/egress.sh

# Regenerates the committed artefacts that tests compare against.
docs: build
	$(BIN) matrix > docs/servers.md
	$(BIN) schema --kind manifest > schema/manifest.schema.json
	$(BIN) schema --kind config > schema/config.schema.json

clean:
	rm -rf .build $(VENV)
