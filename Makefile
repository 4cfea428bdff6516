# The two commands of the README: `make run` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test quick lint eval fit bench clean debian-packages llm-check

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

run: $(STAMP)
	$(PY) app.py

# Installs the Debian packages the tests use when missing and allowed (root or sudo); else says what skips.
debian-packages:
	@bash .ci/debian-packages

test: $(STAMP) debian-packages
	$(PY) -m ruff check .
	$(PY) -m pytest

# The language model against a real llama.cpp server and a small model (tests/chat/test_llm_real.py);
# skips with the reason when llama-cpp-python[server] or the model is not installed (LLM_PYTHON, LLM_GGUF).
llm-check: $(STAMP)
	$(PY) -m pytest -m llm -s -q tests/chat/test_llm_real.py

quick: $(STAMP)
	$(PY) -m pytest -m "not slow and not browser"

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

eval: $(STAMP)
	$(PY) -m eval

# Refit every fitted file from the data (../shared/benchmarks and eval/): the passage model, the
# answer model (reads every suite: about half an hour here) and the instruction detector.
# PYTHONHASHSEED fixed: the order of Python sets, which breaks ties among candidates, is the same on every collect.
fit: $(STAMP)
	$(PY) -m eval.fit
	PYTHONHASHSEED=0 $(PY) -m eval.fit_answer --collect --seeds 3
	$(PY) -m eval.fit_instructions

bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache
