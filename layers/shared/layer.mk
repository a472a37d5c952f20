# What both layer builds share (layers/shared/Makefile, layers/firebase/Makefile): the
# python3.13 lookup, the locked --no-deps install for Lambda's arm64, the pruning and the
# byte-compilation. Included by path (HERE of the including Makefile), never copied by sam build.
#
# Why byte-compile: Lambda unpacks layers onto a read-only disk, so Python cannot write
# __pycache__ and recompiles every module on every cold start (bench/cold_import.py: a handler's
# imports took 394-506 ms with .pyc, 1.07-1.43 s without, on python3.13). The .pyc files use
# --invalidation-mode unchecked-hash: zip archives do not preserve the source mtimes that
# timestamp-based .pyc files are checked against, and a layer never changes after the build.
#
# Needs a python3.13 interpreter (its pip and compileall; .pyc are version specific). Found as
# $(PYTHON313) if set, else `python3.13` on PATH (PYENV_VERSION=3.11.7:3.13.0 works), else
# pyenv's newest 3.13.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

include $(dir $(lastword $(MAKEFILE_LIST)))python313.mk

# A lock is the whole closure, every file hashed: --no-deps installs exactly it (no resolver, so
# firebase-admin's unused declared dependencies stay out) and --require-hashes refuses anything
# that is not the file that was locked.
PIP_TARGET_FLAGS := --platform manylinux2014_aarch64 --implementation cp --python-version 3.13 \
	--only-binary=:all: --no-deps --require-hashes --no-compile --disable-pip-version-check \
	--no-input --quiet

# $(call preflight,<layer>): sam build's ARTIFACTS_DIR and a python3.13 are there.
define preflight
	@test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is not set (run through sam build)" >&2; exit 2; }
	@test -n "$(PYTHON313)" || { echo "python3.13 not found: set PYTHON313=/path/to/python3.13 or PYENV_VERSION=3.11.7:3.13.0" >&2; exit 2; }
	@echo "$(1): python $(PYTHON313)"
	rm -rf "$(ARTIFACTS_DIR)/python"
	mkdir -p "$(ARTIFACTS_DIR)/python"
endef

# $(call install_lock,<requirements.txt>): the locked wheels, not compiled yet, then what Lambda
# never runs pruned (console scripts with a build-host shebang, test suites, other caches).
define install_lock
	"$(PYTHON313)" -m pip install $(PIP_TARGET_FLAGS) \
		--target "$(ARTIFACTS_DIR)/python" --requirement $(1)
endef

define prune
	rm -rf "$(ARTIFACTS_DIR)/python/bin"
	find "$(ARTIFACTS_DIR)/python" -depth -type d \( -name __pycache__ -o -name tests \) \
		-exec rm -rf {} +
	find "$(ARTIFACTS_DIR)/python" -type f \( -name '*.pyc' -o -name '*.pyo' \) -delete
endef

# $(call compile,<layer>): -s/-p record /opt/python/... (where Lambda mounts every layer) as
# source paths instead of this build directory.
define compile
	"$(PYTHON313)" -m compileall -q -j 0 --invalidation-mode unchecked-hash \
		-s "$(ARTIFACTS_DIR)/python" -p /opt/python "$(ARTIFACTS_DIR)/python"
	@echo "$(1): $$(du -sh --apparent-size "$(ARTIFACTS_DIR)/python" | cut -f1) unzipped," \
		"$$(find "$(ARTIFACTS_DIR)/python" -name '*.cpython-313.pyc' | wc -l) .pyc files"
endef
