# Every target creates or updates .venv itself; re-running is quick when nothing changed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8888
JOBS   ?= 2

.PHONY: lab test unit notebooks nbval check-notebooks browser-test browser-deps sandbox-deps release check-release bench gpu-test doctor clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed, found " + sys.version'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# One stamp per set of extras: pyproject.toml changing re-installs, nothing else does.
$(VENV)/.installed-lab: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed-lab

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev,bench]'
	touch $@ $(VENV)/.installed-dev $(VENV)/.installed-lab

## make lab: start JupyterLab on the workbook (prints the URL; no browser is opened).
## jupytext pairs each notebooks/NN_name.md with its .ipynb; no news pop-up, no build clutter.
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings/overrides.json
$(LAB_SETTINGS): tools/jupyterlab-overrides.json | $(VENV)/.installed-lab
	mkdir -p $(dir $@) && cp $< $@

lab: $(VENV)/.installed-lab $(LAB_SETTINGS)
	$(BIN)/jupyter lab --no-browser --ip=127.0.0.1 --port=$(PORT) --ServerApp.root_dir=. \
	  --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate \
	  --ContentsManager.hide_globs='["__pycache__", "*.pyc", "*.egg-info", "test-artifacts", ".ipynb_checkpoints", ".pytest_cache", ".hypothesis"]' \
	  $(if $(filter 0,$(shell id -u)),--allow-root)

## make test: every test — unit, notebooks (nbval), release/grade round trips, browser
test: $(VENV)/.installed-dev browser-deps sandbox-deps
	$(BIN)/cs231n sync notebooks --check
	$(BIN)/cs231n release notebooks assignments --check
	$(BIN)/python -m pytest -n $(JOBS) tests
	$(BIN)/python -m pytest -n $(JOBS) --dist loadfile --nbval notebooks --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:randomly

unit: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -n $(JOBS) tests

## make notebooks: write and execute every notebooks/NN_name.ipynb from its MyST source, then
## release the student versions (`make notebooks ONLY=04` for one)
notebooks: $(VENV)/.installed-dev
	$(BIN)/cs231n sync notebooks $(ONLY)
	$(BIN)/cs231n release notebooks assignments

## make check-notebooks: fail when a source and its executed notebook disagree
check-notebooks: $(VENV)/.installed-dev
	$(BIN)/cs231n sync notebooks --check

## make nbval: execute the notebooks and compare their outputs with the stored ones
nbval: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -n $(JOBS) --dist loadfile --nbval notebooks --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:randomly

## Chromium (Debian) for the browser test; skipped with a message where it cannot be installed.
browser-deps:
	@command -v chromium >/dev/null 2>&1 || bash tools/install_debian_package.sh chromium chromium "the browser test" || true

## bubblewrap (Debian) for the grader's sandbox; without it grading runs unsandboxed and says so,
## and the sandbox tests are skipped.
sandbox-deps:
	@command -v bwrap >/dev/null 2>&1 || bash tools/install_debian_package.sh bubblewrap bwrap "the sandbox tests" || true

browser-test: $(VENV)/.installed-dev browser-deps
	$(BIN)/python -m pytest -m browser tests

## make release: regenerate assignments/ from notebooks/
release: $(VENV)/.installed-dev
	$(BIN)/cs231n release notebooks assignments

## make check-release: fail when assignments/ is not what `make release` would write
check-release: $(VENV)/.installed-dev
	$(BIN)/cs231n release notebooks assignments --check

bench: $(VENV)/.installed-bench
	$(BIN)/python benchmarks/bench_step.py
	$(BIN)/python benchmarks/bench_pool.py
	$(BIN)/python benchmarks/bench_conv.py

gpu-test: $(VENV)/.installed-dev
	$(BIN)/pip install -q -e '.[gpu]'
	$(BIN)/python -m pytest -m gpu tests

doctor: $(VENV)/.installed-lab
	$(BIN)/cs231n doctor

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache test-artifacts
