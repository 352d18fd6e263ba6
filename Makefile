# The platform's entry points. `make demo` and `make test` are the two set-up commands.
.PHONY: setup demo test lint services bench clean

setup:  ## create/refresh both pinned environments (.venv, tfx_pipeline/.venv)
	scripts/setup.sh

demo: setup  ## install everything and run the main job end to end on embedded defaults
	scripts/deploy_feast.sh

services: setup  ## start the backing services the tests need (Redis)
	scripts/services.sh start redis

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

test: services lint  ## the whole test suite against real services
	.venv/bin/pytest

bench: setup services  ## benchmarks (heavy; results in bench/results, charts in docs/img)
	.venv/bin/python bench/generator_throughput.py
	.venv/bin/python bench/materialize_throughput.py

clean:  ## remove runtime state (data, registries, online store, logs); keeps the environments
	scripts/stop_feast.sh
	rm -rf var feature_repo/data
