# make demo: install and run the whole pipeline on the bundled sample athlete.
# make test: install and run the whole test suite (CI runs this via .ci/run).
SHELL := /bin/bash
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")

export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DAGSTER_DISABLE_TELEMETRY := true

.PHONY: install demo test bootstrap-uv

bootstrap-uv:
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || \
		{ echo "installing uv with pip"; $(PYTHON) -m pip install --quiet --user uv || $(PYTHON) -m pip install --quiet uv; }

install: bootstrap-uv
	$(UV) sync --locked --quiet

demo: install
	$(UV) run --locked trainsmart demo

test: install
	$(UV) run --locked pytest -q
