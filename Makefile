# Idempotent set-up and the project's two commands (see README).
# `make test` builds .venv with the CPU build of torch pinned to the wheel these machines carry,
# so CI never pulls a multi-GB CUDA build (`pip install .` for users keeps the plain lower bound),
# and installs the video, samples, tensorboard, plots and bench extras so their tests run in CI rather
# than skip.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
TORCH_PIN ?= torch==2.13.0
STAMP  := $(VENV)/.sharpvid-installed

.PHONY: test test-thorough demo notebooks clean

# A venv whose creation was cut short (no pip) is made again rather than failing forever.
$(STAMP): pyproject.toml Makefile
	$(BIN)/python -m pip --version >/dev/null 2>&1 || { rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH_PIN)"
	$(BIN)/python -m pip install -q -e ".[test,video,samples,tensorboard,plots,bench]"
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-thorough: $(STAMP)
	$(BIN)/python -m pytest -q --hypothesis-profile thorough

# The main job on the embedded real footage: train the demo config (about 7 minutes on 2 CPU
# cores, the 2-core AMD EPYC VM; resumed, not restarted, if runs/demo exists), evaluate on
# held-apart frames against copy-last-frame and flow extrapolation, and print where the pictures
# are.
DEMO := runs/demo
demo: $(STAMP)
	if [ -f $(DEMO)/config.json ]; then $(BIN)/sharpvid train --resume $(DEMO); \
	else $(BIN)/sharpvid train demo --out $(DEMO); fi
	$(BIN)/sharpvid evaluate $(DEMO) --data samples --frame-range 0.8:1 --out $(DEMO)/eval
	@echo "pictures: $(DEMO)/samples (training) and $(DEMO)/eval/pictures (held-out frames)"

# The tutorials as notebooks, beside the scripts (generated, never committed; jupytext).
notebooks: $(STAMP)
	$(BIN)/python -m pip install -q jupytext
	for f in tutorials/[0-9][0-9]_*.py; do $(BIN)/jupytext --quiet --to ipynb "$$f" || exit 1; done
	@echo "notebooks: tutorials/*.ipynb (open them with Jupyter from tutorials/)"

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis

# Mutation testing of the oracle's core and its twins, with the shared-misunderstanding mutants
# (benchmarks/mutants.py; not part of `make test`).  Every 3rd mutant by default, the run in
# benchmarks/RESULTS.md; `make mutants MUTANTS_ARGS=` runs all of them.
MUTANTS_ARGS ?= --stride 3
.PHONY: mutants
mutants: $(STAMP)
	$(BIN)/python benchmarks/mutants.py $(MUTANTS_ARGS)
