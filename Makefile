# ecmpush developer entry points. `make run` and `make test` are the README's two commands.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SAM_VENV := .venv-sam
SAM_STAMP := $(SAM_VENV)/.installed

.PHONY: run test lint typecheck unit integration e2e template-lint build lock bench clean

$(STAMP): requirements/dev.txt requirements/constraints.txt layers/shared/requirements.in \
		layers/shared/requirements-nodeps.in
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/dev.txt -c requirements/constraints.txt
	touch $(STAMP)

$(SAM_STAMP): requirements/sam.txt
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/python -m pip install --quiet -r requirements/sam.txt
	touch $(SAM_STAMP)

## Start the whole bundle locally (moto, FCM and ECM stand-ins, API, SQS consumer, schedules),
## replay the demo once, then serve until Ctrl-C.
run: $(STAMP)
	$(PY) -m devstack run

## Lint, type check, template checks and every test layer.
test: $(STAMP) lint typecheck template-lint
	$(PY) -m pytest -n 2

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: $(STAMP)
	$(PY) -m mypy

template-lint: $(STAMP) $(SAM_STAMP)
	$(VENV)/bin/cfn-lint template.yaml
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam validate --lint --template-file template.yaml

build: $(SAM_STAMP)
	SAM_CLI_TELEMETRY=0 PATH="$$(PYENV_VERSION=3.13.0 pyenv prefix 2>/dev/null || echo /nonexistent)/bin:$$PATH" $(SAM_VENV)/bin/sam build

bench: $(STAMP)
	$(PY) -m bench

lock: $(STAMP)
	{ echo "# Full transitive pin set for the dev/test virtualenv (pip freeze of requirements/dev.txt)."; \
	  echo "# Regenerate: make lock"; $(PY) -m pip freeze; } > requirements/constraints.txt

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache .devstack
