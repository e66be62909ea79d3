# Everything a fresh machine needs: `make demo` and `make test` create .venv and install.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Programs outside Python that tests use: LibreOffice opens the marked feedback copies.
# Installed with apt where we may (root on Debian, as in CI); otherwise the test says it skipped.
SYSTEM_TOOLS := soffice:libreoffice-calc-nogui

.PHONY: install system-tools demo test clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/thongke demo

system-tools:
	@for pair in $(SYSTEM_TOOLS); do \
	  tool=$${pair%%:*}; pkg=$${pair#*:}; \
	  if ! command -v $$tool >/dev/null 2>&1; then \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	      echo "installing $$pkg (for $$tool)"; \
	      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	        --no-install-recommends $$pkg >/dev/null) || echo "could not install $$pkg"; \
	    else echo "note: $$tool not found and cannot install $$pkg here; its tests will be skipped"; fi; \
	  fi; \
	done

test: $(STAMP) system-tools
	$(BIN)/python -m pytest -q -rs

clean:
	rm -rf reports/*/ reports/*.duckdb .pytest_cache
