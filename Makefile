# The two commands a user needs: `make run` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
DATA   ?= data/raw/synthetic-av
RUN_ARGS ?=

.PHONY: run test test-fast install install-dev clean

# The virtualenv gets uv, which installs the same packages as pip (from PyPI, same
# resolution here) in a fraction of the time: ~1 min instead of ~2 for the dev extra on two
# cores, most of it compiling the bytecode that pip compiles too. uv does not read pip's
# configuration (a mirror, find-links): where uv cannot be installed, or its install fails,
# pip does the install, as it did before.
$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "make: $(PYTHON) not found; install Python 3.11 or run 'make PYTHON=/path/to/python3.11 ...'" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv || echo "make: uv could not be installed; installing with pip (slower)" >&2

# uv's flags: pip's quiet, its target (this virtualenv) and its bytecode compiling.
UV_FLAGS := --quiet --python $(BIN)/python --compile-bytecode

# PyTorch for the cnn (the optional extra `cnn`). It is installed first, by pip, as $(TORCH):
# pip reads pip's configuration, so where that points at a folder of wheels (find-links) holding
# the CPU build, as on this project's machines, it takes that file; uv does not look there and
# would take PyPI's CUDA build (several GB). Elsewhere give the CPU index, e.g.
#   make run TORCH="torch --index-url https://download.pytorch.org/whl/cpu"
# CNN=0 installs no PyTorch: every model but the cnn works, and the cnn says how to install it.
CNN   ?= 1
TORCH ?= torch==2.13.0
comma  := ,
EXTRAS     := $(if $(filter 1,$(CNN)),[cnn])
EXTRAS_DEV := [dev$(if $(filter 1,$(CNN)),$(comma)cnn)]
define install_torch
	@if [ "$(CNN)" = 1 ] && ! $(BIN)/python -c "import torch" 2>/dev/null; then \
		echo "make: installing PyTorch for the cnn ($(TORCH); CNN=0 to leave it out)"; \
		$(BIN)/python -m pip install --quiet $(TORCH) || exit 1; fi
endef

# librosa's Numba kernels compiled into the cache once, by one process, right after the
# install: concurrent first compiles in several processes can corrupt the cache and crash
# (numba/numba#10128; urbansound/_librosa.py also locks every later import, issue 26).
define warm_numba
	$(BIN)/python -c "import urbansound._librosa"
endef

# Stamp files so that an unchanged pyproject.toml installs nothing on the second run.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(install_torch)
	[ -x $(BIN)/uv ] && $(BIN)/uv pip install $(UV_FLAGS) -e '.$(EXTRAS)' \
	|| { [ ! -x $(BIN)/uv ] || echo "make: uv could not install; installing with pip" >&2; \
	     $(BIN)/python -m pip install --quiet -e '.$(EXTRAS)' ; }
	$(warm_numba)
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(install_torch)
	[ -x $(BIN)/uv ] && $(BIN)/uv pip install $(UV_FLAGS) -e '.$(EXTRAS_DEV)' \
	|| { [ ! -x $(BIN)/uv ] || echo "make: uv could not install; installing with pip" >&2; \
	     $(BIN)/python -m pip install --quiet -e '.$(EXTRAS_DEV)' ; }
	$(warm_numba)
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# The whole pipeline on $(DATA); the embedded default dataset is generated first when absent.
run: install
	@if [ "$(DATA)" = "data/raw/synthetic-av" ] && [ ! -e "$(DATA)" ]; then \
		echo "make run: no dataset at $(DATA); generating the embedded default (synthetic, AV layout)"; \
		$(BIN)/urbansound synth "$(DATA)" --layout av; \
	fi
	$(BIN)/urbansound run --data "$(DATA)" $(RUN_ARGS)

test: install-dev
	$(BIN)/python -m pytest

# The unit tier: no Dask cluster, no Prefect server, no subprocess, nothing slow (tests/conftest.py).
test-fast: install-dev
	$(BIN)/python -m pytest -m "not integration and not slow" -q

clean:
	rm -rf $(VENV) data/features data/models data/reports data/submissions

# The docker-compose stack on this machine's ./data (docker-compose.host.yml: host networking,
# loopback ports; an engine, Compose and the base image are set up when missing), see README.
# scripts/compose_smoke.sh without argument is the end-to-end smoke test.
.PHONY: compose-up compose-down
compose-up:
	URBANSOUND_DATA="$(CURDIR)/data" scripts/compose_smoke.sh up

compose-down:
	URBANSOUND_DATA="$(CURDIR)/data" scripts/compose_smoke.sh down
