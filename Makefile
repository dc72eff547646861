# seed.fargate — every habit has a target, so nobody has to remember flags.
#
#   make demo    set everything up, deploy the whole stack to the local endpoint
#                and perform a blue/green release (the README's first command)
#   make test    every test: lint, sanity, unit, integration, molecule, services
#   make bench   benchmarks (ratios against baselines measured in the same run)

SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export LOCALAWS_STATE_DIR ?= $(CURDIR)/.localaws
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
# molecule and ansible-test call ansible-config, ansible-playbook, ... by name
export PATH := $(CURDIR)/$(BIN):$(PATH)
# one pytest worker per core: more only queue on a 2-core machine and slow every test
PYTEST_WORKERS ?= $(shell nproc)
# The scenarios stay in molecule/ (the layout the collection documents); naming the glob
# tells molecule so, instead of its notice about extensions/molecule.
export MOLECULE_GLOB := molecule/*/molecule.yml

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

# --- setup ---------------------------------------------------------------------
$(STAMP): requirements/dev.txt requirements/constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements/dev.txt -c requirements/constraints.txt
	touch $@

.collections/ansible_collections/seed/fargate:
	mkdir -p .collections/ansible_collections/seed
	ln -sfn ../../.. .collections/ansible_collections/seed/fargate

setup: $(STAMP) .collections/ansible_collections/seed/fargate  ## virtualenv with pinned dependencies; link the collection

system-deps: setup  ## Debian packages and npm modules the service/image/browser tests need (root)
	services/scripts/install-deps.sh

# --- the main job ----------------------------------------------------------------
# DATAPLANE=1 (default): the endpoint runs tasks as containers and serves the load balancers'
# listeners on loopback (docs/local-endpoint.md, "Data plane"); `make up DATAPLANE=0` starts
# the control plane only.
DATAPLANE ?= 1
# real seconds per AWS minute (LOCALAWS_TIME_SCALE) for `make up`: at 10 the canary's minute lasts 10 s,
# and the target groups' unhealthy threshold (3 x 15 s) 7.5 s, long enough for a task's process to start
TIME_SCALE ?= 10
# image versions the demo builds and pushes (tools/demo_images.py: v1..v4)
DEMO_VERSIONS ?= v1,v2
# FAST=1 (default): the demo's playbooks run as the test suite's do, under mitogen's mitogen_linear strategy
# with one botocore loader per interpreter (tools/fastpath.py; make bench prints the ratio to the stock strategy);
# ansible-core prints a deprecation notice for third-party strategy plugins then. FAST=0: the stock strategy.
FAST ?= 1
# TRACING=1: the demo traces the api with X-Ray (stack_tracing, every request sampled), its daemon the local stand-in
# `make images` builds, and its last step prints the traces of a few requests it sends (tools/demo_traces.py;
# docs/tracing.md). Off by default: the demo is the stack of inventories/local as it is.
TRACING ?= 0
TRACING_STACK = {"stack_tracing": {"enabled": true, "services": ["api"], "daemon_image": "localhost/seed-xray-daemon:latest", "sampling_rate": 1}}
TRACING_VARS = $(if $(filter 1,$(TRACING)),-e '$(TRACING_STACK)')
STRATEGY_ENV = $(if $(filter 1,$(FAST)),eval "$$($(BIN)/python tools/fastpath.py)",:)

up: setup  ## start the local AWS endpoint (moto + localaws patches; DATAPLANE=0: no containers)
	LOCALAWS_DATAPLANE=$(DATAPLANE) LOCALAWS_TIME_SCALE=$(TIME_SCALE) $(BIN)/python -m localaws start

images: setup  ## build the api/web images once per source hash and tag the demo versions (DEMO_VERSIONS)
	$(BIN)/python tools/demo_images.py build --versions $(DEMO_VERSIONS)

down:  ## stop the local AWS endpoint
	$(BIN)/python -m localaws stop

demo: system-deps images up  ## deploy the whole stack to the local endpoint (real tasks), then release v2 (FAST=0: no mitogen; TRACING=1: X-Ray)
	eval "$$($(BIN)/python -m localaws env)"
	$(STRATEGY_ENV)
	# the images go to ECR first, so the services' first tasks find them
	$(BIN)/python tools/demo_images.py push --versions $(DEMO_VERSIONS) --require-dataplane
	$(BIN)/ansible-playbook playbooks/site.yml $(TRACING_VARS)
	$(BIN)/ansible-playbook playbooks/deploy.yml -e deploy_image_tag=v2 $(TRACING_VARS)
	$(BIN)/python -m localaws status
	$(if $(filter 1,$(TRACING)),$(BIN)/python tools/demo_traces.py)

destroy: up  ## remove the whole stack from the local endpoint
	eval "$$($(BIN)/python -m localaws env)"
	$(STRATEGY_ENV)
	$(BIN)/ansible-playbook playbooks/destroy.yml

# --- checks ------------------------------------------------------------------------
# antsibull-docs copies the collection and its dependencies (amazon.aws, community.aws) before running ansible-doc,
# and copies a directory inside a git work tree by `git ls-files`: with the virtualenv inside this checkout (or
# /work/main's), the dependencies would be copied empty. The ceiling stops git's search at the virtualenv's lib/.
PURELIB_PARENT = $(shell test -x $(BIN)/python && dirname "$$($(BIN)/python -c 'import os, sysconfig; print(os.path.realpath(sysconfig.get_paths()["purelib"]))')")

lint: setup  ## ansible-lint (production profile), yamllint, ruff, antsibull-docs; parliament over every IAM policy a converge writes
	$(BIN)/ansible-lint --profile production --offline
	$(BIN)/yamllint -s .
	$(BIN)/ruff check .
	$(BIN)/python tools/lint_policies.py
	# every plugin's and role's docs render and their markup and references resolve (what docs.ansible.com builds)
	GIT_CEILING_DIRECTORIES=$(PURELIB_PARENT) $(BIN)/antsibull-docs lint-collection-docs --plugin-docs .
	$(BIN)/antsibull-changelog lint

sanity: setup  ## ansible-test sanity on a copy of the committed tree
	mkdir -p ~/.ansible/test/cache
	test -f ~/.ansible/test/cache/get_pip_24_2.py || cp tools/ansible_test_get_pip.py ~/.ansible/test/cache/get_pip_24_2.py
	rm -rf build/ansible_collections && mkdir -p build/ansible_collections/seed/fargate
	git ls-files -z | xargs -0 cp --parents -t build/ansible_collections/seed/fargate
	# the dependencies' doc fragments must be found beside the collection
	for ns in amazon community; do ln -sfn "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"] + "/ansible_collections")')/$$ns" build/ansible_collections/$$ns; done
	cd build/ansible_collections/seed/fargate && git init -q . && git add -A
	PATH=$(CURDIR)/$(BIN):$$PATH ansible-test sanity --python 3.11 --requirements 2>&1 \
	  | grep -v -e '^WARNING: Location' -e '^Collecting' -e '^  Downloading' -e '^Processing' -e '━'

PACKAGING := build/packaging-venv
$(PACKAGING)/.installed: requirements/packaging.txt
	test -x $(PACKAGING)/bin/python || $(PYTHON) -m venv $(PACKAGING)
	$(PACKAGING)/bin/pip install --quiet --upgrade pip
	$(PACKAGING)/bin/pip install --quiet -r requirements/packaging.txt
	touch $@

build: setup $(PACKAGING)/.installed  ## the collection tarball: install it into a clean path, galaxy-importer, the EE build context
	rm -rf build/dist build/install build/importer build/ee-context && mkdir -p build/dist build/install build/importer
	$(BIN)/ansible-galaxy collection build --output-path build/dist .
	# from build/, away from ansible.cfg: only the installed tarball may answer
	cd build
	env -u ANSIBLE_CONFIG $(CURDIR)/$(BIN)/ansible-galaxy collection install --force --no-deps -p install dist/seed-fargate-*.tar.gz
	export ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/build/install
	env -u ANSIBLE_CONFIG $(CURDIR)/$(BIN)/ansible-doc -l seed.fargate | tee modules.txt
	grep -q codedeploy_deployment modules.txt
	env -u ANSIBLE_CONFIG $(CURDIR)/$(BIN)/ansible-doc -t role seed.fargate.network >/dev/null
	# What Galaxy runs on an upload (docs, ansible-lint of the roles and playbooks): no ERROR line may come out.
	printf '[galaxy-importer]\nRUN_ANSIBLE_TEST = False\nRUN_ANSIBLE_LINT = True\n' > importer/config.cfg
	env -u ANSIBLE_CONFIG -u ANSIBLE_COLLECTIONS_PATH GALAXY_IMPORTER_CONFIG=$(CURDIR)/build/importer/config.cfg \
	  PATH=$(CURDIR)/$(PACKAGING)/bin:$$PATH $(CURDIR)/$(PACKAGING)/bin/python -m galaxy_importer.main \
	  dist/seed-fargate-*.tar.gz > importer/output.txt 2>&1 || { cat importer/output.txt; exit 1; }
	if grep -E '^(ERROR|CRITICAL)' importer/output.txt; then echo "galaxy-importer: errors above (build/importer/output.txt)"; exit 1; fi
	grep -q 'Importer processing completed successfully' importer/output.txt
	# The execution environment's build context from this tarball (execution-environment.yml, docs/awx.md).
	cd $(CURDIR)
	$(PACKAGING)/bin/ansible-builder create -f execution-environment.yml --context build/ee-context >/dev/null
	$(BIN)/python tools/check_ee_context.py build/ee-context

unit: setup  ## unit tests
	$(BIN)/pytest tests/unit -q

# --durations: CI's log says where the time goes (the budget of `make test` is 30 min on 2 cores)
integration: setup  ## playbook, module, data plane and AWX (ansible-runner) tests against the real local endpoint
	$(BIN)/pytest tests/localaws tests/integration tests/awx -q -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=30

# CI runs the bluegreen scenarios: the whole stack (network included), a release, a broken
# release rolled back, teardown; bluegreen with CodeDeploy releasing the services, bluegreen-ecs
# with ECS itself (deployment_controller: ecs), one after the other. network and default are
# their subsets; molecule-all runs every scenario. bluegreen runs Ansible's stock strategy, as a
# user without mitogen does (tests/integration/bluegreen runs the same story on the fast path:
# the scenario both ways); bluegreen-ecs runs on the fast path (tools/fastpath.py: 46 s against
# 116 s, which `make test` runs beside the integration tests).
molecule: setup  ## molecule bluegreen scenarios (CodeDeploy, then ECS as release controller) against the local endpoint
	$(BIN)/molecule test -s bluegreen
	eval "$$($(BIN)/python tools/fastpath.py)"
	$(BIN)/molecule test -s bluegreen-ecs

molecule-all: setup  ## every molecule scenario (network, default, bluegreen, bluegreen-ecs)
	$(BIN)/molecule test --all

services: setup  ## API/web through the real WSGI server (granian), nginx, Chromium; real image builds
	$(BIN)/pytest tests/services -q --durations=15

# Stages that share nothing run side by side: the image builds (mostly debootstrap and apt, waiting on the
# network) beside the checks, two at a time (the machine's cores); then integration (one pytest worker per core)
# beside molecule (one ansible-playbook at a time) and the service tests. The integration tests leave a core
# idle a fifth of their time (waits on tasks, health checks, canaries; vmstat: 22 % idle), which molecule and the
# service tests fill: on 2 cores `make test` took 32.5 min with them after integration, 30.2 min beside it.
# -O prints each stage's output whole when it ends. The images come before integration: the data plane tests run
# the demo's images (built once per source hash).
test: system-deps  ## every test (installs what it needs)
	$(MAKE) --no-print-directory -j2 -O images lint sanity build unit
	$(MAKE) --no-print-directory -j3 -O integration molecule services

bench: setup images  ## benchmarks: converge vs boto3 floor; API vs Express; a release under load vs steady state
	$(BIN)/python bench/converge/run.py
	bench/services/run.sh
	$(BIN)/python bench/release/run.py

# --- releases --------------------------------------------------------------------
# docs/releasing.md: bump galaxy.yml's version, `make changelog`, commit, tag. UPDATE=1 folds fragments added
# since into the release entry of galaxy.yml's version (before that version is tagged and published).
UPDATE ?= 0

changelog: setup  ## cut the release of galaxy.yml's version: fragments -> changelogs/changelog.yaml, CHANGELOG.rst (UPDATE=1: add to it)
	$(BIN)/antsibull-changelog lint
	# On a copy of the tracked files (with the fragments not committed yet): --reload-plugins copies the collection
	# directory, and a checkout's container store (.containers, gigabytes, links into /proc) must not go along.
	rm -rf build/changelog && mkdir -p build/changelog/ansible_collections/seed/fargate
	{ git ls-files; git ls-files --others --exclude-standard changelogs; } | sort -u | while read -r f; do [ -e "$$f" ] && echo "$$f"; done \
	  | xargs cp --parents -t build/changelog/ansible_collections/seed/fargate
	cd build/changelog/ansible_collections/seed/fargate
	$(CURDIR)/$(BIN)/antsibull-changelog release --reload-plugins $(if $(filter 1,$(UPDATE)),--update-existing,)
	cd $(CURDIR)
	rm -rf changelogs/fragments && cp -r build/changelog/ansible_collections/seed/fargate/changelogs/. changelogs/
	cp build/changelog/ansible_collections/seed/fargate/CHANGELOG.rst CHANGELOG.rst
	# the release removes the fragments it took; git keeps the directory only with a file in it
	mkdir -p changelogs/fragments && touch changelogs/fragments/.keep

clean:  ## remove build output and endpoint state
	rm -rf build .localaws .pytest_cache

.PHONY: help setup system-deps up down images demo destroy lint sanity build unit integration molecule molecule-all services test bench changelog clean
