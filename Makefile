# claims-audit: common tasks. `make install audit` on a fresh machine, `make test` for the tests.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
INPUT  ?= sample_data/claims.csv
CONFIG ?= sample_data/audit.toml
OUT    ?= audit-out
REF_RAW ?= ../shared/reference-raw
# `make reference OUT=dir` builds into dir; without OUT, into reference-build/
REF_OUT = $(if $(filter command line,$(origin OUT)),$(OUT),reference-build)
EXTRAS ?= dev,dask,s3,bench,browser

.PHONY: install audit test lint format bench reference report-demo clean

install: $(BIN)/claims-audit browser

$(BIN)/claims-audit: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[$(EXTRAS)]"
	@touch $@

# `make audit` writes a new audit-out/<timestamp>/ each time (the summary's last line says where);
# earlier runs and the report-demo folders are kept. `make audit OUT=dir` writes dir, which the
# tool replaces only if it is an earlier claims-audit output (or empty).
# `make audit INPUT=export.csv CONFIG=export.toml` audits an analyst's extract with its config
# (see sample_data/messy/); the sample history is only used with the sample input.
AUDIT_OUT = $(if $(filter command line,$(origin OUT)),--out $(OUT),)
audit: install
	$(BIN)/claims-audit run $(INPUT) --config $(CONFIG) \
		$(if $(filter sample_data/claims.csv,$(INPUT)),--history sample_data/history.csv,) \
		$(AUDIT_OUT) --format csv,parquet,html,xlsx --fail-on never

# `make test` leaves out the `slow` tests, on every core (pytest-xdist; TEST_WORKERS=0 for one
# process); `make test-slow` runs them (the wheel test: builds the wheel, installs it into a
# fresh venv from the package index, runs the CLI outside the checkout; tiny-batch equivalence)
TEST_WORKERS ?= auto
test: install
	$(BIN)/pytest -m "not slow" -n $(TEST_WORKERS)

.PHONY: test-slow
test-slow: install
	$(BIN)/pytest -m slow -n $(TEST_WORKERS)

lint: install
	$(BIN)/ruff check pipeline schemas tests benchmarks
	$(BIN)/ruff format --check pipeline schemas tests benchmarks

format: install
	$(BIN)/ruff format pipeline schemas tests benchmarks
	$(BIN)/ruff check --fix pipeline schemas tests benchmarks

reference: install
	$(BIN)/claims-audit reference build \
		--hcpcs $(REF_RAW)/hcpcs_2026_jan/january-2026-alpha-numeric-hcpcs-file.zip \
		--asp-pricing $(REF_RAW)/cms_asp_payment_limit_2026Q1_jan2026_121725.csv \
		--asp-crosswalk $(REF_RAW)/cms_asp_ndc_hcpcs_crosswalk_2026Q1_jan2026_121725.csv \
		--mue-practitioner $(REF_RAW)/MCR_MUE_PractitionerServices_Eff_04-01-2026.csv \
		--mue-outpatient $(REF_RAW)/MCR_MUE_OutpatientHospitalServices_Eff_04-01-2026.csv \
		--opps $(REF_RAW)/cms_opps_addendum_b_2025Q4_oct2025_103125.csv \
		--out $(REF_OUT)

# the property tests with random seeds and many examples (the `fuzz` hypothesis profile,
# tests/conftest.py): make fuzz FUZZ_EXAMPLES=2000. A failure it finds becomes an @example.
# The pipeline property runs as FUZZ_SHARDS copies on as many cores; the statistics printed at
# the end give each copy's count of passing examples.
FUZZ_EXAMPLES ?= 10000
FUZZ_SHARDS ?= $(shell nproc 2>/dev/null || echo 2)
.PHONY: fuzz
fuzz: install
	HYPOTHESIS_PROFILE=fuzz FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_SHARDS=$(FUZZ_SHARDS) \
		$(BIN)/pytest -m fuzz -p no:cacheprovider -n $(FUZZ_SHARDS) --hypothesis-show-statistics

# benchmarks (not tests): 1M/10M lines, the local engine on 1 and 2 workers vs the lean and the
# faithful DuckDB audits and a naive loop (CPU s, peak RSS of the process tree), dask at 10M/50M.
# then 837 lines/s beside Parquet on the same lines (X12_ROWS, default 1M).
# The extract: the full bundle built from $(REF_RAW) (`make reference`, into BENCH_REF), the
# generator's highest defect rate (about a quarter of the lines carry findings, issue 14).
# CI smoke run: make bench BENCH_ARGS="--sizes 20000 --dask-sizes 20000" X12_ROWS=20000
BENCH_ARGS ?=
BENCH_REF ?= benchmarks/data/fullref
BENCH_DEFECT_RATE ?= 0.03
X12_ROWS ?= 1000000
bench: install
	$(MAKE) reference OUT=$(BENCH_REF)
	$(BIN)/python -m benchmarks.run --reference $(BENCH_REF) --defect-rate $(BENCH_DEFECT_RATE) \
		$(BENCH_ARGS)
	$(BIN)/python -m benchmarks.x12_bench --rows $(X12_ROWS)

# Chromium for the report's browser test (Debian's package; needs root and apt). A machine
# without it still installs: the browser test then skips and says why.
.PHONY: browser
browser:
	@[ -x /usr/bin/chromium ] || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; } || \
		echo "make browser: chromium not installed (apt-get install chromium as root)"

# the analyst's report, twice: the sample, then a changed extract compared with it (--baseline),
# in a new $(OUT)/demo-<timestamp>/ (sample/ and changed/): earlier demos and audits are kept
DEMO_RUN = $(BIN)/claims-audit run --config sample_data/audit.toml \
	--history sample_data/history.csv --format csv,parquet,html,xlsx --fail-on never
report-demo: install
	$(BIN)/python sample_data/changed/make_changed.py
	@set -e; d=$(OUT)/demo-$$(date +%Y%m%dT%H%M%S); base=$$d; n=1; \
	while [ -e "$$d" ]; do n=$$((n + 1)); d=$$base-$$n; done; \
	echo "claims-audit run sample_data/claims.csv ... --out $$d/sample"; \
	$(DEMO_RUN) sample_data/claims.csv --out "$$d/sample"; \
	echo "claims-audit run sample_data/changed/claims.csv ... --out $$d/changed --baseline $$d/sample"; \
	$(DEMO_RUN) sample_data/changed/claims.csv --out "$$d/changed" --baseline "$$d/sample" \
		--suppress sample_data/changed/suppress.csv; \
	d=$$(cd "$$d" && pwd); \
	echo "report: $$d/changed/report.html (baseline: $$d/sample/report.html)"

# sample_data/ as the generator writes it (fixed seed, the sample's audit.toml, every rule),
# then the worked examples derived from it (messy/export.csv, changed/claims.csv)
.PHONY: sample
sample: install
	$(BIN)/python -m claims_audit.generate.sample sample_data
	$(BIN)/python sample_data/messy/make_messy.py
	$(BIN)/python sample_data/changed/make_changed.py

clean:
	rm -rf audit-out reference-build .pytest_cache
