# Two commands: `make demo` and `make test`. Both set up .venv (and the apt tools) on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
APT_PACKAGES := espeak-ng ffmpeg  # and libosmesa6 (offscreen OpenGL for previews)
DEMO := out/demo

.PHONY: demo test train train-live system-deps clean

$(STAMP): pyproject.toml Makefile
	$(MAKE) system-deps
	$(PYTHON) -m venv $(VENV)
	# torch is pinned in the same command: that CPU wheel is on disk; a looser spec pulls a CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0 -e ".[test,train,backbone,capture,ray,eval]"
	# after pyrender (which pins PyOpenGL 3.1.0): 3.1.7 is the release that works with OSMesa offscreen.
	$(BIN)/pip install --quiet --no-deps PyOpenGL==3.1.7
	touch $(STAMP)

system-deps:
	@missing=""; for p in $(APT_PACKAGES); do command -v $$p >/dev/null || missing="$$missing $$p"; done; \
	{ ldconfig -p 2>/dev/null || /sbin/ldconfig -p; } | grep -q libOSMesa || missing="$$missing libosmesa6"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

demo: $(STAMP)
	@mkdir -p $(DEMO)
	espeak-ng -v en-us -s 150 -w $(DEMO)/guard.wav "Bob popped the big map, and we found the treasure before sunset."
	espeak-ng -v en-us+f3 -s 140 -w $(DEMO)/merchant.wav "Welcome back, friend. I have something special for you today."
	espeak-ng -v en-gb -s 160 -w $(DEMO)/scout.wav "They are coming from the north. We have to move now!"
	printf '%s\n' 'audio,emotion,intensity,articulation,text,out' \
	  'guard.wav,happy,0.8,,"Bob popped the big map, and we found the treasure before sunset.",guard' \
	  'merchant.wav,happy:0.6+surprise:0.4,1,,"Welcome back, friend. I have something special for you today.",merchant' \
	  'scout.wav,fear,0.9,1.3,,scout' > $(DEMO)/dialogue.csv
	$(BIN)/emoface bake --manifest $(DEMO)/dialogue.csv -o $(DEMO)/metahuman --format emoface-txt
	$(BIN)/emoface bake --manifest $(DEMO)/dialogue.csv -o $(DEMO)/livelink --format livelink-csv
	$(BIN)/emoface bake $(DEMO)/scout.wav -o $(DEMO)/scout_arkit.json --rig arkit --emotion fear:0.9 --articulation 1.3
	$(BIN)/emoface render $(DEMO)/scout.wav -o $(DEMO)/scout_preview.mp4 --emotion fear:0.9 --articulation 1.3 --size 384
	@echo; echo "demo output in $(DEMO)/ (dialogue sheet: $(DEMO)/dialogue.csv):"; find $(DEMO) -type f ! -name '.*' | sort
	@echo; echo "next: play $(DEMO)/scout_preview.mp4, then bake a line of your own (formats, rigs, options: README.md):"
	@echo "  $(BIN)/emoface bake my.wav -o my.json --emotion happy; $(BIN)/emoface render my.wav -o my.mp4 --emotion happy"

test: $(STAMP)
	$(BIN)/python -m pytest -q

# Reproduce checkpoints/emoface-default.pt (about 2 hours on 2 CPU cores, GRID capture included; needs ../shared).
train: $(STAMP)
	$(BIN)/python -m emoface.train --shared ../shared --out checkpoints/emoface-default.pt --music 0.25 --raised-voice 0.15

# The low-latency live network, fine-tuned from the default one (about 40 minutes on 2 CPU cores).
train-live: $(STAMP)
	$(BIN)/python -m emoface.train --shared ../shared --init checkpoints/emoface-default.pt \
		--out checkpoints/emoface-live.pt --lookahead 2 --row-smoothing 1 --steps 4500 --minutes 40 --lr 1e-3 \
		--background-voices 0.25 --music 0.4 --raised-voice 0.15

clean:
	rm -rf $(VENV) out .pytest_cache
