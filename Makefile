# linkpaper: two commands after cloning.
#   make book   set up .venv, execute every notebook with papermill on the embedded default
#               (SynthLLP + the LLP annotations), and build the Jupyter Book into _build/html
#   make lint   ruff check and ruff format --check over the whole tree (configuration: pyproject.toml)
#   make test   set up .venv (extras book, dev, cluster, download, tracking), run the unit tests, nbval on the executed notebooks, and the
#               headless-browser check of the built book (Debian's chromium + chromium-driver;
#               skipped when absent unless LINKPAPER_REQUIRE_BROWSER=1). The unit tests include
#               tests/test_slurm.py, which submits to a real SLURM (scripts/local_slurm.sh start;
#               skipped where sinfo fails unless LINKPAPER_REQUIRE_SLURM=1)
#   make llp    the same book on the released LLP features (internet, GPU): into _build/html-llp
#
# Data: LINKPAPER_DATA names a folder holding llp/ and leap/ (the LLP annotation CSVs and the
# GloVe table). If unset, a sibling ../shared/data is used when present, else the files are
# downloaded (sha256-verified) into ~/.cache/linkpaper/data.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.linkpaper-installed

ifeq ($(strip $(LINKPAPER_DATA)),)
  ifneq ($(wildcard ../shared/data/llp/AVVP_train.csv),)
    LINKPAPER_DATA := $(abspath ../shared/data)
  endif
endif
export LINKPAPER_DATA
export HF_HUB_OFFLINE := 1
unexport MPLBACKEND

.PHONY: setup data book notebooks lint test unit nbval browser test-extract llp clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[book,dev,cluster,download,tracking]"
	touch $(STAMP)

data: setup
	$(PY) -m linkpaper download annotations

notebooks: data
	$(PY) scripts/run_notebooks.py

book: notebooks
	$(PY) scripts/build_book.py

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

unit: data
	$(PY) -m pytest tests -q -m "not browser"

nbval: data
	$(PY) -m pytest --nbval --nbval-current-env --nbval-sanitize-with scripts/nbval-sanitize.cfg notebooks -q

browser: data
	$(PY) scripts/build_book.py
	$(PY) -m pytest tests/browser -q -m browser

test: data
	$(PY) -m pytest tests -q -m "not browser"
	$(PY) -m pytest --nbval --nbval-current-env --nbval-sanitize-with scripts/nbval-sanitize.cfg notebooks -q
	$(PY) scripts/build_book.py
	$(PY) -m pytest tests/browser -q -m browser

# Teacher extraction (CLIP / CLAP) needs its own environment (about 6 GB: torchvision forces a
# CUDA torch build); not part of `make test`. CI runs it after `make test`.
test-extract: data
	test -x .venv-extract/bin/python || scripts/setup_extract_env.sh .venv-extract
	.venv-extract/bin/python -m pytest tests/extract -q -p no:cacheprovider

# The book on real LLP (a machine with internet; a GPU for the paper's recipe): download the released
# features and checkpoints, score the checkpoints, train the Table II grid, execute the chapters on
# llp:... and build _build/html-llp. Options: make llp LLP_ARGS="--seeds 1 -- --executor slurm ...";
# python scripts/llp.py --help lists them. Downloads need the network: HF_HUB_OFFLINE is unset here.
LLP_ARGS ?=
llp: setup
	env -u HF_HUB_OFFLINE $(PY) scripts/llp.py $(LLP_ARGS)

clean:
	rm -rf _build runs
