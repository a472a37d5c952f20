# ecmpush developer entry points. `make run` and `make test` are the README's two commands.
SHELL := /bin/bash
# Lambda's python3.13 for the venvs, the tests, lint and types (layers/shared/python313.mk).
include layers/shared/python313.mk
PYTHON ?= $(or $(PYTHON313),$(error python3.13 not found: set PYTHON313=/path/to/python3.13))
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SAM_VENV := .venv-sam
SAM_STAMP := $(SAM_VENV)/.installed

.PHONY: run test check static lint typecheck unit integration e2e template-lint build lock bench clean \
	web browser openapi samples screenshots relay-wheel deploy smoke
WEB := clients/web
WEB_DEPS := $(WEB)/node_modules/.installed
WEB_BUILD := $(WEB)/dist/index.html

$(STAMP): requirements/dev.txt requirements/constraints.txt layers/shared/requirements.in \
		layers/firebase/requirements.in layers/firebase/requirements-nodeps.in
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/dev.txt -c requirements/constraints.txt
	touch $(STAMP)

$(SAM_STAMP): requirements/sam.txt
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/python -m pip install --quiet -r requirements/sam.txt
	touch $(SAM_STAMP)

$(WEB_DEPS): $(WEB)/package-lock.json
	cd $(WEB) && npm ci --no-audit --no-fund
	touch $(WEB_DEPS)

$(WEB_BUILD): $(WEB_DEPS) $(WEB)/index.html $(wildcard $(WEB)/src/*) $(wildcard $(WEB)/public/*) $(WEB)/vite.config.js $(WEB)/vite.sw.config.js
	cd $(WEB) && npm run build

## The web client (npm ci from the lockfile, then vite build into clients/web/dist).
web: $(WEB_BUILD)

## Chromium for the browser test, from Debian's packages (Playwright's own download is not used).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
	  || echo "make browser: chromium could not be installed; the browser test will be skipped"; }

## Regenerate docs/openapi.json from the API functions' Powertools resolvers, and the API
## Gateway documentation parts in template.yaml from the same document.
openapi: $(STAMP)
	PYTHONPATH=layers/shared:. $(PY) -m devstack.openapi
	PYTHONPATH=layers/shared:. $(PY) -m devstack.api_documentation

## Regenerate the sample pushes in docs/clients.md from the real renderer.
samples: $(STAMP)
	PYTHONPATH=layers/shared:. $(PY) -m devstack.push_samples

## Start the whole bundle locally (moto, FCM and ECM stand-ins, API, SQS consumer, schedules),
## replay the demo once, then serve until Ctrl-C.
run: $(STAMP) web
	$(PY) -m devstack run

## Lint, type check, template checks and every test layer. The static checks run beside pytest
## at the lowest CPU priority (they take only what the tests leave idle); their output follows
## the tests', and either failing fails `make test`.
test: $(STAMP) $(SAM_STAMP) web browser
	@checks=$$(mktemp); \
	nice -n 19 $(MAKE) --no-print-directory -k -o $(STAMP) -o $(SAM_STAMP) static >$$checks 2>&1 & \
	pid=$$!; \
	$(PY) -m pytest -n 2; tests=$$?; \
	wait $$pid; checked=$$?; \
	cat $$checks; rm -f $$checks; \
	[ $$checked -eq 0 ] || echo "make test: lint, typecheck or template-lint failed (above)"; \
	[ $$tests -eq 0 ] && [ $$checked -eq 0 ]

## The fast loop before a commit (about 30 s): ruff, mypy and the unit tests.
check: lint typecheck unit

static: lint typecheck template-lint

## One test layer each (README "Tests" says what each holds); `make test` runs them all at once.
unit: $(STAMP)
	$(PY) -m pytest tests/unit

integration: $(STAMP)
	$(PY) -m pytest -n 2 tests/integration tests/local_stack tests/contract

e2e: $(STAMP) web browser
	$(PY) -m pytest tests/e2e

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m vulture

typecheck: $(STAMP)
	$(PY) -m mypy

template-lint: $(STAMP) $(SAM_STAMP)
	$(VENV)/bin/cfn-lint template.yaml
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam validate --lint --template-file template.yaml

build: $(SAM_STAMP)
	SAM_CLI_TELEMETRY=0 PATH="$(dir $(PYTHON313)):$$PATH" $(SAM_VENV)/bin/sam build

## Build, then deploy with the project's SAM CLI (.venv-sam) and samconfig.toml's CONFIG_ENV:
## `make deploy` (dev), `make deploy CONFIG_ENV=prod`, `make deploy GUIDED=1` to be asked for
## every parameter (docs/deploy.md). samconfig.toml's placeholders are refused by CloudFormation.
CONFIG_ENV ?= default
deploy: build
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam deploy --config-env $(CONFIG_ENV) $(if $(GUIDED),--guided)

## The deployed stack's end-to-end test (tests/e2e/test_deployed_stack.py) against
## AWS_SAM_STACK_NAME, with AWS credentials for its account and region.
smoke: $(STAMP)
	@test -n "$$AWS_SAM_STACK_NAME" || \
	  { echo "make smoke: set AWS_SAM_STACK_NAME=<stack name> and AWS credentials"; exit 2; }
	$(PY) -m pytest -p no:randomly tests/e2e/test_deployed_stack.py

## Refresh the web client screenshots (docs/web-client.md) on purpose: the browser test writes them to
## .build/screenshots/ (every `make test` does, leaving docs/ alone); this copies them over.
screenshots: $(STAMP) web browser
	rm -rf .build/screenshots
	$(PY) -m pytest tests/e2e/test_web_client.py tests/e2e/test_web_approver.py
	cp .build/screenshots/web-*.png docs/images/

bench: $(STAMP)
	$(PY) -m bench

## The standalone relay's wheel (senders/relay/pyproject.toml) in .build/relay/, for
## `pip install --no-deps` after its requirements.txt (docs/relay.md).
relay-wheel: $(STAMP)
	$(PY) -m pip wheel --quiet --no-deps -w .build/relay senders/relay

## Re-resolve every pin: requirements/constraints.txt, the dev venv's complete set (uv pip compile
## of requirements/dev.txt for python 3.13 on any platform; the pins already in it are kept
## wherever they still resolve), then both layer locks against it (layers/shared/Makefile).
## The venv, `make test` and CI install with `-c requirements/constraints.txt`.
lock: $(STAMP)
	SSL_CERT_FILE="$${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}" $(VENV)/bin/uv pip compile \
	  --quiet --universal --python-version 3.13 --custom-compile-command "make lock" \
	  --output-file requirements/constraints.txt requirements/dev.txt
	$(MAKE) -C layers/shared lock

clean:
	rm -rf $(VENV) $(SAM_VENV) .build .aws-sam .pytest_cache .mypy_cache .ruff_cache .devstack $(WEB)/node_modules $(WEB)/dist
