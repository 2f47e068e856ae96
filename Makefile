# Two commands on a fresh machine: `make demo` and `make test`.
#
# Environments (each a venv of its own):
#   .venv         requirements/lock.txt: every package pinned with its hashes (demo, test, lint)
#   .venv-oldest  requirements/oldest.txt: the oldest release of each dependency we support
#   .venv-newest  unlocked: the newest releases, what a user who installs today gets
#   .venv-peers, .venv-peers-openlit  requirements/peers*.txt: other producers' packages that
#                 cannot live in the main lock (tests/producers/test_peers.py runs apps in them)
# `make lock` rewrites both lock files from pyproject.toml and requirements/tools.in.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements/lock.txt
OLDEST := .venv-oldest
OLDEST_LOCK := requirements/oldest.txt
NEWEST := .venv-newest
# What the oldest environment runs: the whole suite (every SDK, the price data, the exporter,
# the receiver, and the jobs and reports over SQLAlchemy, rich, click and pyarrow at their floors).
OLDEST_TESTS := tests
COMPILE = $(BIN)/uv pip compile pyproject.toml requirements/tools.in --extra dev --universal \
	--python-version 3.11 --generate-hashes --quiet

.PHONY: install demo test test-oldest test-newest lint typecheck lock chromium clean
.PHONY: peers lock-peers

# A venv from a lock file: every package by its hashes, then the project itself, editable,
# without dependency resolution or build isolation, so that nothing unpinned comes in.
define install_locked
	test -x $(1)/bin/python || $(PYTHON) -m venv $(1)
	$(1)/bin/python -m pip install --quiet --require-hashes -r $(2)
	$(1)/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(1)/bin/python -m pip check
	touch $(1)/.installed
endef

$(STAMP): pyproject.toml $(LOCK)
	$(call install_locked,$(VENV),$(LOCK))

$(OLDEST)/.installed: pyproject.toml $(OLDEST_LOCK)
	$(call install_locked,$(OLDEST),$(OLDEST_LOCK))

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/costledger demo

test: lint typecheck chromium
	$(BIN)/python -m pytest
test: peers

# The supported range's lower end: the same tests on the oldest lock.
test-oldest: $(OLDEST)/.installed chromium
	$(OLDEST)/bin/python -m pip freeze --exclude-editable | grep -iE \
		'^(anthropic|openai|genai-prices|opentelemetry-(api|sdk)|sqlalchemy|grpcio|protobuf)=='
	$(OLDEST)/bin/python -m pytest $(OLDEST_TESTS)

# The newest releases, unlocked: run it when you start work; when it fails, fix the code and
# move the lock forward with `make lock`.
test-newest: chromium
	rm -rf $(NEWEST)
	$(PYTHON) -m venv $(NEWEST)
	$(NEWEST)/bin/python -m pip install --quiet --upgrade pip
	$(NEWEST)/bin/python -m pip install --quiet --upgrade --upgrade-strategy eager -e '.[dev]'
	$(NEWEST)/bin/python -m pip freeze --exclude-editable | grep -iE \
		'^(anthropic|openai|genai-prices|opentelemetry-(api|sdk)|sqlalchemy|grpcio|protobuf)=='
	$(NEWEST)/bin/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# Both lock files, from pyproject.toml's ranges: the newest releases that satisfy them, and the
# lowest release of each direct dependency (the floors pyproject.toml states).
lock: $(STAMP)
	$(COMPILE) --upgrade -o $(LOCK)
	$(COMPILE) --upgrade --resolution lowest-direct -o $(OLDEST_LOCK)

# The other producers' environments (OpenTelemetry contrib's Gemini instrumentation and
# LiteLLM; OpenLIT alone: it needs openai < 3): each a locked venv of Python 3.11 with our
# project in it, editable, so that the apps run there use this checkout's code.
PEERS_PYTHON ?= python3.11
PEERS := .venv-peers .venv-peers-openlit
peers: $(PEERS:%=%/.installed)
$(PEERS:%=%/.installed): PYTHON = $(PEERS_PYTHON)
.venv-peers/.installed: pyproject.toml requirements/peers.txt
	$(call install_locked,.venv-peers,requirements/peers.txt)
.venv-peers-openlit/.installed: pyproject.toml requirements/peers-openlit.txt
	$(call install_locked,.venv-peers-openlit,requirements/peers-openlit.txt)
lock: lock-peers
lock-peers: $(STAMP)
	for name in peers peers-openlit; do $(BIN)/uv pip compile pyproject.toml requirements/tools.in \
		requirements/$$name.in --python-version 3.11 --generate-hashes --quiet --upgrade \
		-o requirements/$$name.txt || exit 1; done

# The report's browser tests need Debian's chromium; they skip with the reason without it.
chromium:
	test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) || echo "chromium not installed: the browser tests will skip"

clean:
	rm -rf $(VENV) $(OLDEST) $(NEWEST) .pytest_cache .mypy_cache .ruff_cache
	rm -rf $(PEERS)
