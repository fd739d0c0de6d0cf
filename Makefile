# make demo: install and run the whole pipeline on the bundled sample athlete.
# make test: install and run the whole test suite (CI runs this via .ci/run).
SHELL := /bin/bash
PYTHON ?= python3
# uv from PATH, else a private copy in .tools/ (a venv, so no system pip is touched)
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)

export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DAGSTER_DISABLE_TELEMETRY := true

.PHONY: install demo test bootstrap-uv

bootstrap-uv:
	@command -v $(UV) >/dev/null 2>&1 || \
		{ echo "uv not found: installing it into .tools/"; $(PYTHON) -m venv .tools && .tools/bin/pip install --quiet uv; }

# --compile-bytecode: every trainsmart and dbt process starts about 1.5 s sooner where
# PYTHONDONTWRITEBYTECODE keeps Python from caching bytecode itself
install: bootstrap-uv
	$(UV) sync --locked --quiet --compile-bytecode

demo: install
	$(UV) run --locked trainsmart demo

# one worker per core; a test file stays on one worker, so its module fixtures build once
test: install
	$(UV) run --locked pytest -q -n auto --dist loadfile
