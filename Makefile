# Idempotent set-up and the project's two commands (see README).
# `make test` builds .venv with the CPU build of torch pinned to the wheel these machines carry,
# so CI never pulls a multi-GB CUDA build (`pip install .` for users keeps the plain lower bound),
# and installs the video and samples extras so their tests run in CI rather than skip.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
TORCH_PIN ?= torch==2.13.0
STAMP  := $(VENV)/.sharpvid-installed

.PHONY: test test-thorough clean

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH_PIN)"
	$(BIN)/python -m pip install -q -e ".[test,video,samples,tensorboard]"
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-thorough: $(STAMP)
	$(BIN)/python -m pytest -q --hypothesis-profile thorough

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
