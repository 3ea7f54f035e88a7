# gp-print — the two commands a fresh clone needs (see README.md):
#   make edition   set up, then build the sample edition into out/ (press PDFs, e-edition, proofs)
#   make test      set up, then lint, type-check and run the whole test suite
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
SAMPLE ?= samples/gp-2019-12-30
OUT ?= out

.PHONY: edition test setup system-deps snapshots benchmark clean

setup: system-deps $(VENV)/.installed

# WeasyPrint needs Pango (and HarfBuzz, fontconfig) from the system; preflight needs Ghostscript
# (ink coverage; also run by every build); the press tests cross-check with poppler-utils
# (pdfimages, pdffonts).  Install whatever is missing.  (ArgyllCMS is never needed: the colour
# profile is in layouts/colour/.)
system-deps:
	@if ! ldconfig -p | grep -q 'libpangoft2-1.0.so.0'; then \
	  echo "installing Pango for WeasyPrint"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libfontconfig1 >/dev/null; \
	fi
	@if ! command -v gs >/dev/null || ! command -v pdfimages >/dev/null; then \
	  echo "installing Ghostscript and poppler-utils for preflight"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    ghostscript poppler-utils >/dev/null; \
	fi
	@# The readers' site's browser tests drive Debian's Chromium with Playwright (never its own download).
	@if [ ! -x /usr/bin/chromium ]; then \
	  echo "installing Chromium for the site's browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,cluster]'
	touch $@

edition: setup
	$(VENV)/bin/gp-print build $(SAMPLE) -o $(OUT)
	$(VENV)/bin/gp-print proof $(SAMPLE) -o $(OUT)/proofs

test: setup
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy src
	$(PY) -m pytest -q

# Re-render the golden snapshots into *.new.png, then review and accept them.
snapshots: setup
	GP_UPDATE_SNAPSHOTS=1 $(PY) -m pytest -q tests/render || true
	$(PY) -m tests.snapshot accept

clean:
	rm -rf $(OUT) .pytest_cache .mypy_cache .ruff_cache tests/_failures
