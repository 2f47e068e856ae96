# Two commands on a fresh machine: `make demo` and `make test`.
#
# Environments (each a venv of its own):
#   .venv         requirements/lock.txt: every package pinned with its hashes (demo, test, lint)
#   .venv-oldest  requirements/oldest.txt: the oldest release of each dependency we support
#   .venv-newest  unlocked: the newest releases, what a user who installs today gets
#   .venv-focus   requirements/focus-validator*.txt: the FinOps Foundation's focus-validator on
#                 Python 3.12, which the FOCUS export tests run as a separate process
#   .venv-peers, .venv-peers-openlit  requirements/peers*.txt: other producers' packages that
#                 cannot live in the main lock (tests/producers/test_peers.py runs apps in them)
# `make lock` rewrites the lock files from pyproject.toml, requirements/tools.in,
# requirements/focus-validator*.in and requirements/peers*.in.
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
# focus-validator 2.x needs Python >= 3.12 (costledger itself supports 3.11): pyenv's 3.12, else a
# python3.12 on PATH. Without one, `make focus-validator` says so and the validator tests skip.
FOCUS_VENV := .venv-focus
FOCUS_LOCK := requirements/focus-validator.txt
FOCUS_BUILD_LOCK := requirements/focus-validator-build.txt
PYTHON312 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12) \
	$(shell command -v python3.12 2>/dev/null))
FOCUS_COMPILE = $(BIN)/uv pip compile --python-version 3.12 --generate-hashes --quiet

.PHONY: install demo test test-oldest test-newest lint typecheck lock lock-focus-validator chromium \
	focus-validator focus-validate clean
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

# The validator's own venv: its build requirements first (it is published as an sdist only), then
# the validator by its hashes, built without build isolation so that nothing unpinned comes in.
$(FOCUS_VENV)/.installed: $(FOCUS_LOCK) $(FOCUS_BUILD_LOCK)
	rm -rf $(FOCUS_VENV)
	$(PYTHON312) -m venv $(FOCUS_VENV)
	$(FOCUS_VENV)/bin/python -m pip install --quiet --require-hashes -r $(FOCUS_BUILD_LOCK)
	$(FOCUS_VENV)/bin/python -m pip install --quiet --require-hashes --no-build-isolation \
		-r $(FOCUS_LOCK)
	$(FOCUS_VENV)/bin/python -m pip check
	$(FOCUS_VENV)/bin/python -c "import focus_validator.main, focus_validator.validator"
	touch $@

# Check a FOCUS file by hand: make focus-validate FILE=may-focus.csv [FOCUS_VERSION=1.3].
# focus-validator 2.2.1 opens focus_validator/rules/currency_codes.csv relative to the folder it
# runs in (and writes its debug log there): it runs in a temporary folder that has that path.
# COSTLEDGER_FOCUS_RULES: a folder with the FOCUS 1.3 rules (model-1.3*.json), which 2.2.1 does
# not bundle.
FOCUS_VERSION ?= 1.2
focus-validate: $(FOCUS_VENV)/.installed
	@test -n "$(FILE)" || { echo "usage: make focus-validate FILE=export.csv [FOCUS_VERSION=1.3]"; exit 2; }
	work=$$(mktemp -d) && \
	ln -s $(CURDIR)/$(firstword $(wildcard $(FOCUS_VENV)/lib/python3*/site-packages/focus_validator)) \
		$$work/focus_validator && \
	(cd $$work && $(CURDIR)/$(FOCUS_VENV)/bin/focus-validator --data-file $(abspath $(FILE)) \
		--validate-version $(FOCUS_VERSION) --block-download --show-violations \
		$(if $(COSTLEDGER_FOCUS_RULES),--rule-set-path $(COSTLEDGER_FOCUS_RULES))); \
	status=$$?; rm -rf $$work; exit $$status

ifneq ($(strip $(PYTHON312)),)
focus-validator: $(FOCUS_VENV)/.installed
else
focus-validator:
	@echo "no Python 3.12 (pyenv's or python3.12 on PATH): focus-validator is not installed and the FOCUS validator tests will skip"
endif

demo: $(STAMP)
	$(BIN)/costledger demo

test: lint typecheck chromium focus-validator
	$(BIN)/python -m pytest
test: peers

# The supported range's lower end: the same tests on the oldest lock.
test-oldest: $(OLDEST)/.installed chromium focus-validator
	$(OLDEST)/bin/python -m pip freeze --exclude-editable | grep -iE \
		'^(anthropic|openai|genai-prices|opentelemetry-(api|sdk)|sqlalchemy|grpcio|protobuf)=='
	$(OLDEST)/bin/python -m pytest $(OLDEST_TESTS)

# The newest releases, unlocked: run it when you start work; when it fails, fix the code and
# move the lock forward with `make lock`.
test-newest: chromium focus-validator
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
lock: $(STAMP) lock-focus-validator
	$(COMPILE) --upgrade -o $(LOCK)
	$(COMPILE) --upgrade --resolution lowest-direct -o $(OLDEST_LOCK)

# The validator's locks alone (its build requirements at the validator's own versions).
lock-focus-validator: $(STAMP)
	$(FOCUS_COMPILE) --upgrade requirements/focus-validator.in -o $(FOCUS_LOCK)
	$(FOCUS_COMPILE) --upgrade requirements/focus-validator-build.in -c $(FOCUS_LOCK) \
		-o $(FOCUS_BUILD_LOCK)
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
	rm -rf $(VENV) $(OLDEST) $(NEWEST) $(FOCUS_VENV) .pytest_cache .mypy_cache .ruff_cache
	rm -rf $(PEERS)
