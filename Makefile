# Refold: `make validate` runs every study in Toys/ and writes Reports/; `make test` runs the
# test suite. Both install what they need first (`make deps`).

SWIFT   ?= swift
PROFILE ?= quick
SEED    ?= 2026
APT_PACKAGES = libgsl-dev libfftw3-dev libblis-dev gnuplot-nox pkg-config groff qpdf poppler-utils libopenmpi-dev openmpi-bin
RELEASE_BIN = .build/release/refold

SHELL := /bin/bash

.PHONY: deps pythia-deps build test bench fuzz validate report fcgan-scaling pythia-sample clean

# Installs the Debian packages when pkg-config or the headers say one is missing.
deps: pythia-deps
	@missing=""; \
	pkg-config --exists gsl 2>/dev/null || missing="$$missing libgsl-dev"; \
	{ pkg-config --exists fftw3 && pkg-config --exists fftw3f; } 2>/dev/null || missing="$$missing libfftw3-dev"; \
	{ [ -f /usr/include/x86_64-linux-gnu/blis-openmp/cblas.h ] || [ -f /usr/include/blis/cblas.h ] || ls /usr/include/*/blis*/cblas.h >/dev/null 2>&1; } || missing="$$missing libblis-dev"; \
	command -v gnuplot >/dev/null 2>&1 || missing="$$missing gnuplot-nox"; \
	command -v pkg-config >/dev/null 2>&1 || missing="$$missing pkg-config"; \
	{ command -v groff && [ -f /usr/share/groff/current/tmac/pdf.tmac ] || ls /usr/share/groff/*/tmac/pdf.tmac; } >/dev/null 2>&1 || missing="$$missing groff"; \
	command -v qpdf >/dev/null 2>&1 || missing="$$missing qpdf"; \
	command -v pdfinfo >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	pkg-config --exists ompi-c 2>/dev/null || missing="$$missing libopenmpi-dev"; \
	command -v mpirun >/dev/null 2>&1 || missing="$$missing openmpi-bin"; \
	if command -v python3 >/dev/null 2>&1 && ! python3 -c "import numpy, safetensors" 2>/dev/null; then \
	  echo "deps: installing numpy and safetensors for the interoperability test"; \
	  python3 -m pip install -q numpy safetensors 2>/dev/null || echo "deps: pip could not install numpy/safetensors (the interop test will skip)"; \
	fi; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "deps: installing$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	  else \
	    echo "deps: missing$$missing; run: sudo apt-get install -y $(APT_PACKAGES)"; exit 1; \
	  fi; \
	fi

# The Pythia 8 reference chain's wheels (scripts/pythia), best effort: without pip or a network
# the chain's test skips and make deps goes on. Binary wheels only (a source build of Pythia takes
# long); the pinned versions are those the reference samples were made with.
PYTHIA_WHEELS = pythia8mc==8.317.2 fastjet==3.5.2.0
PYTHIA_IMPORT = import numpy, fastjet, importlib.util as u; assert u.find_spec("pythia8mc") or u.find_spec("pythia8")
pythia-deps:
	@if ! command -v python3 >/dev/null 2>&1; then \
	  echo "deps: no python3: the Pythia reference chain (make pythia-sample) and its test are unavailable"; \
	elif ! python3 -c '$(PYTHIA_IMPORT)' 2>/dev/null; then \
	  echo "deps: installing $(PYTHIA_WHEELS) for the Pythia reference chain"; \
	  python3 -m pip install -q --user --only-binary=:all: numpy $(PYTHIA_WHEELS) 2>/dev/null \
	    || python3 -m pip install -q --only-binary=:all: numpy $(PYTHIA_WHEELS) 2>/dev/null \
	    || echo "deps: pip could not install $(PYTHIA_WHEELS) (the Pythia chain's test will skip)"; \
	fi

build: deps
	$(SWIFT) build -c release --product refold

# XCTest only (no Swift Testing suites here); the last line is the plain summary
# "N passed, N failed" that CI reads.
test: deps
	$(SWIFT) build --build-tests
	@set -o pipefail; $(SWIFT) test --skip-build --disable-swift-testing 2>&1 | tee .build/test.log; status=$$?; \
	summary=$$(grep -E "Executed [0-9]+ tests?, with [0-9]+ failures?" .build/test.log | tail -1); \
	total=$$(echo "$$summary" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/'); \
	failed=$$(echo "$$summary" | sed -E 's/.*with ([0-9]+) failures?.*/\1/'); \
	echo "$$((total - failed)) passed, $$failed failed"; exit $$status

bench: build
	$(RELEASE_BIN) bench

# The parser fuzzer outside CI: FUZZ_INPUTS mutated inputs per reader (npy, safetensors, study
# TOML, detector card, LHE), seed FUZZ_SEED; a crash stops the run and leaves its input in
# .build/fuzz-crash.bin.
# FUZZ_SECONDS (optional) stops each reader after that many seconds; the printed count is exact.
FUZZ_INPUTS ?= 1000000
FUZZ_SEED ?= 1
FUZZ_SECONDS ?=
fuzz: deps
	$(SWIFT) build --build-tests
	REFOLD_FUZZ_INPUTS=$(FUZZ_INPUTS) REFOLD_FUZZ_SEED=$(FUZZ_SEED) REFOLD_FUZZ_SECONDS=$(FUZZ_SECONDS) REFOLD_FUZZ_LAST=.build/fuzz-crash.bin \
	  $(SWIFT) test --skip-build --filter ParserFuzzTests

validate: build
	$(RELEASE_BIN) validate Toys --profile $(PROFILE) --seed $(SEED) --out Reports --force

report: build
	$(RELEASE_BIN) report Reports --force

# The FCGAN at 1x, 2x, 4x the quick size (docs/gan-studies.md); about 40 minutes on one core.
fcgan-scaling: build
	scripts/fcgan-scaling.sh Reports-scaling $(SEED)

# A paired ZW sample from Pythia 8 + FastJet through the detector card (docs/realism.md), one
# core: about 80 s of CPU per 10k events (ISR=1: 93 s), measured on 120k and 30k events.
PYTHIA_OUT ?= data/pythia-zw
PYTHIA_EVENTS ?= 10000
PYTHIA_SEED ?= 1
PYTHIA_CARD ?= Toys/detector-atlas.toml
pythia-sample: pythia-deps
	python3 scripts/pythia/zw_reference.py --events $(PYTHIA_EVENTS) --seed $(PYTHIA_SEED) --card $(PYTHIA_CARD) \
	  --out $(PYTHIA_OUT) $(if $(filter 1,$(ISR)),--isr)

clean:
	rm -rf .build Reports/*/ Reports/index.md Reports/report.pdf
