# claims-audit: common tasks. `make install audit` on a fresh machine, `make test` for the tests.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
INPUT  ?= sample_data/claims.csv
OUT    ?= audit-out
REF_RAW ?= ../shared/reference-raw
# `make reference OUT=dir` builds into dir; without OUT, into reference-build/
REF_OUT = $(if $(filter command line,$(origin OUT)),$(OUT),reference-build)
EXTRAS ?= dev,dask,bench,xlsx,browser

.PHONY: install audit test lint format bench reference report-demo clean

install: $(BIN)/claims-audit

$(BIN)/claims-audit: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[$(EXTRAS)]"
	@touch $@

audit: install
	$(BIN)/claims-audit run $(INPUT) --config sample_data/audit.toml \
		--history sample_data/history.csv --out $(OUT) --format csv,parquet,html,xlsx --fail-on never

test: install
	$(BIN)/pytest

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

clean:
	rm -rf audit-out reference-build .pytest_cache
