# Everything a fresh machine needs: `make demo` and `make test` create .venv and install.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Programs outside Python that tests use (program:Debian package): LibreOffice opens the
# marked feedback copies, Chromium loads the report, poppler-utils reads the PDF (pdftotext,
# pdffonts). Installed with apt where we may (root on Debian, as in CI); otherwise the tests
# that need them say they skipped.
SYSTEM_TOOLS := soffice:libreoffice-calc-nogui chromium:chromium pdftotext:poppler-utils
# Libraries the program itself needs (library:Debian package): WeasyPrint writes the PDF
# report with Pango. Often already there as a dependency of other packages, not always.
SYSTEM_LIBS := libpango-1.0.so.0:libpango-1.0-0 libpangoft2-1.0.so.0:libpangoft2-1.0-0
# Fonts the PDF report is set in (font file:Debian package): Liberation Serif, metric-compatible
# with Times New Roman as Nghị định 30/2020/NĐ-CP wants; without it the PDF is set in DejaVu
# Serif (matplotlib's copy) and says so. Detected by the file, installed with system-libs.
SYSTEM_FONTS := /usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf:fonts-liberation2
APT_INSTALL := apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
               --no-install-recommends

.PHONY: install system-tools system-libs demo test test-fast clean server bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP) system-libs
	$(BIN)/thongke demo

# The standing Prefect server (UI on http://127.0.0.1:4200, database in .prefect/); Ctrl+C
# stops it. Then, in another terminal: .venv/bin/thongke serve (docs/SERVER.md).
server: $(STAMP)
	$(BIN)/thongke server

system-tools:
	@for pair in $(SYSTEM_TOOLS); do \
	  tool=$${pair%%:*}; pkg=$${pair#*:}; \
	  if ! command -v $$tool >/dev/null 2>&1; then \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	      echo "installing $$pkg (for $$tool)"; \
	      ($(APT_INSTALL) $$pkg >/dev/null) || echo "could not install $$pkg"; \
	    else echo "note: $$tool not found and cannot install $$pkg here; its tests will be skipped"; fi; \
	  fi; \
	done

system-libs:
	@missing=""; for pair in $(SYSTEM_LIBS); do \
	  ldconfig -p 2>/dev/null | grep -q "$${pair%%:*}" || missing="$$missing $${pair#*:}"; \
	done; \
	for pair in $(SYSTEM_FONTS); do \
	  [ -f "$${pair%%:*}" ] || missing="$$missing $${pair#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing$$missing (for the PDF report)"; \
	    ($(APT_INSTALL) $$missing >/dev/null) || echo "could not install$$missing"; \
	  else echo "note: install$$missing (Pango, fonts) for the PDF report"; fi; \
	fi

# The whole suite (about 8 minutes on two cores); .ci/run runs this one.
test: $(STAMP) system-libs system-tools
	$(BIN)/python -m pytest -q -rs

# All but the tests marked slow (kill, server, concurrency, corpus: pyproject.toml), about
# 3 minutes on two cores; for the edit-test loop, not instead of `make test`.
test-fast: $(STAMP) system-libs system-tools
	$(BIN)/python -m pytest -q -rs -m "not slow"

# The benchmark (bench/README.md): prints a table, writes bench/results/<time>_<commit>.csv.
# A short one: make bench BENCH_ARGS="--quick --only W1,W2"
# The program is measured as officers install it: in .venv-bench, without the test tools
# (hypothesis alone adds 0.2-0.5 s to every process that validates with pandera).
BENCH_VENV  := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed

$(BENCH_STAMP): pyproject.toml
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -e .
	touch $(BENCH_STAMP)

bench: $(STAMP) $(BENCH_STAMP) system-libs
	$(BIN)/python bench/run.py --bin $(BENCH_VENV)/bin $(BENCH_ARGS)

clean:
	rm -rf reports/*/ reports/*.duckdb .pytest_cache
