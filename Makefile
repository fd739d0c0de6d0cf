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

# make test-spark: the same dbt models on Spark (dbt-spark, method session, local[2]) from the
# raw Parquet export, every mart compared with DuckDB's build of the same raw data
# (tests/spark/, skipped by `make test`). Installs the `spark` extra (pyspark, ~490 MB) and,
# only when `java` is missing, Debian's openjdk-17-jre-headless.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: test-spark
test-spark: bootstrap-uv
	@command -v java >/dev/null 2>&1 || { echo "java not found: installing openjdk-17-jre-headless"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless; }
	$(UV) sync --locked --quiet --compile-bytecode --extra spark
	TRAINSMART_SPARK_TESTS=1 $(UV) run --locked --extra spark pytest -q -p no:cacheprovider tests/spark
