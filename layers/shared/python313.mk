# The python3.13 every build, venv and test uses (Lambda's runtime): $(PYTHON313) if set, else
# `python3.13` on PATH, else pyenv's newest 3.13. Included by layer.mk and the top Makefile.

# First candidate that really is 3.13 (a pyenv shim exists even when it cannot run).
find_python313 = for c in python3.13 \
	"$$(pyenv root 2>/dev/null)/versions/$$(pyenv latest 3.13 2>/dev/null)/bin/python3.13"; do \
	"$$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' >/dev/null 2>&1 \
	&& { "$$c" -c 'import sys; print(sys.executable)'; break; }; done; true
ifndef PYTHON313
PYTHON313 := $(shell $(find_python313))
endif
