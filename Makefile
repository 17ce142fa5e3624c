# The README's commands: `make demo` and `make test`. Everything they need is installed here,
# so a fresh machine (or a clean CI clone) passes with no manual step.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
VENDOR := web/static/vendor
# Debian packages the tests drive for real: gpsd + gpsfake, ffmpeg, GStreamer's RTSP server,
# Chromium for Playwright, systemd-analyze and shellcheck for the appliance files, PostgreSQL
# for the national registry (the tests start a throwaway cluster of their own), curl for the
# registry unit's readiness check, sqlite3 and rsync for the embedded registry's backup, and
# Ceph's radosgw, ceph-mon and ceph-osd: a real S3 server for the evidence bucket (the tests
# start a throwaway one-node cluster, tests/ceph_rgw.py).
APT_PACKAGES := gpsd gpsd-clients ffmpeg chromium python3-gi gir1.2-gst-rtsp-server-1.0 \
	gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly \
	gstreamer1.0-plugins-bad gstreamer1.0-tools systemd shellcheck poppler-utils libheif-examples \
	optipng iputils-arping nftables postgresql curl sqlite3 rsync \
	radosgw ceph-mon ceph-osd
# Exception classes whose first argument is a message id to translate.
ERROR_CLASSES := SurveyNodeError BadInput NotFound Conflict Forbidden TooManyAttempts ConfigError DeviceUnavailable \
	InvalidStreamUrl ChecksBusy Unauthorized TooLarge GaveUp Busy DiskFull
MO := survey_node/translations/th/LC_MESSAGES/messages.mo

.PHONY: install system-packages assets translations demo test bench wheel clean messages

install: $(STAMP) assets translations

$(STAMP): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev]'
	touch $@

# Third-party JS/CSS/fonts from npm, copied into web/static/vendor (git-ignored).
assets: $(VENDOR)/.stamp

$(VENDOR)/.stamp: package.json
	@command -v npm >/dev/null || { echo "npm is needed for the web assets (apt-get install npm)"; exit 1; }
	npm install --no-audit --no-fund --loglevel=error
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/sarabun/files $(VENDOR)/leaflet
	cp node_modules/@fontsource/sarabun/files/sarabun-{thai,latin}-{400,700}-normal.woff2 $(VENDOR)/sarabun/files/
	cp node_modules/@fontsource/sarabun/LICENSE $(VENDOR)/sarabun/ 2>/dev/null || true
	$(PYTHON) tools/font_css.py $(VENDOR)/sarabun > $(VENDOR)/sarabun/sarabun.css
	cp -r node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css node_modules/leaflet/dist/images $(VENDOR)/leaflet/
	touch $@

translations: $(MO)

$(MO): survey_node/translations/th/LC_MESSAGES/messages.po $(STAMP)
	$(VENV)/bin/pybabel compile --use-fuzzy -d survey_node/translations -D messages

# Re-extract message ids after changing templates or code, then translate the new ones.
messages: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k gettext -k lazy_gettext -k N_ \
		$(foreach k,$(ERROR_CLASSES),-k $(k)) -o messages.pot .
	$(VENV)/bin/pybabel update -i messages.pot -d survey_node/translations -D messages --no-fuzzy-matching
	rm -f messages.pot

system-packages:
	@if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
		missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
		if [ -n "$$missing" ]; then \
			echo "installing Debian packages: $$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		fi; \
	else \
		echo "not root: skipping Debian packages ($(APT_PACKAGES)); tests that need them will skip"; \
	fi

demo: system-packages install
	$(VENV)/bin/survey-node demo --data-dir .demo-data --host 0.0.0.0 --port 8080

# The layering rules first (pyproject.toml [tool.importlinter], docs/architecture.md), then
# the suite in three workers, one test file per worker at a time (files share module
# fixtures). Three on two cores: much of the suite waits (gpsfake paces NMEA in real time,
# sync tests wait out deadlines, browsers wait for pages), and a third worker fills those
# waits; measured on the 2-core CI machine, 951 s with two workers, 770 s with three.
PYTEST_WORKERS ?= 3
test: system-packages install
	$(VENV)/bin/lint-imports
	$(VENV)/bin/pytest -q -n $(PYTEST_WORKERS) --dist loadfile

# Bytecode is compiled first, as an installed wheel has it (PYTHONDONTWRITEBYTECODE, set on
# some machines, would otherwise make every timed start-up compile the package again).
bench: system-packages install
	$(VENV)/bin/python -m compileall -q survey_node
	$(VENV)/bin/python -m tests.bench

wheel: install
	rm -rf dist && $(PIP) wheel --quiet --no-deps -w dist .

clean:
	rm -rf $(VENV) node_modules $(VENDOR) dist build *.egg-info $(MO)
