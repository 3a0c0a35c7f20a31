# Two commands: `make demo` and `make test`. Both set up .venv (and the apt tools) on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
APT_PACKAGES := espeak-ng ffmpeg
DEMO := out/demo

.PHONY: demo test test-all system-deps clean

$(STAMP): pyproject.toml Makefile
	$(MAKE) system-deps
	$(PYTHON) -m venv $(VENV)
	# torch is pinned in the same command: that CPU wheel is on disk; a looser spec pulls a CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0 -e ".[test]"
	touch $(STAMP)

system-deps:
	@missing=""; for p in $(APT_PACKAGES); do command -v $$p >/dev/null || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	fi

demo: $(STAMP)
	@mkdir -p $(DEMO)
	espeak-ng -v en-us -s 150 -w $(DEMO)/line.wav "Bob popped the big map, and we found the treasure before sunset."
	$(BIN)/emoface bake $(DEMO)/line.wav -o $(DEMO)/line_metahuman.txt --emotion happy:0.8 \
	  --text "Bob popped the big map, and we found the treasure before sunset."
	$(BIN)/emoface bake $(DEMO)/line.wav -o $(DEMO)/line_livelink.csv --emotion happy:0.8 \
	  --text "Bob popped the big map, and we found the treasure before sunset."
	$(BIN)/emoface bake $(DEMO)/line.wav -o $(DEMO)/line_arkit.json --rig arkit --emotion sad:0.6
	@echo "demo output in $(DEMO)/:"; ls -l $(DEMO)

test: $(STAMP)
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) out .pytest_cache
