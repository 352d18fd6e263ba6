# The platform's entry points. `make demo` and `make test` are the two set-up commands.
.PHONY: setup demo stop test lint services bench clean
# pytest-xdist workers for make test (each test module runs whole on one worker)
TEST_WORKERS ?= 2

setup:  ## create/refresh both pinned environments (.venv, tfx_pipeline/.venv)
	scripts/setup.sh

demo: setup  ## install everything, run the main job end to end through Airflow (embedded defaults)
	scripts/demo.sh

stop:  ## stop what the demo and the scripts started (Airflow, Feast UI, our Redis)
	.venv/bin/taxi-platform airflow stop
	scripts/stream.sh stop
	scripts/stop_feast.sh

services: setup  ## start the backing services the tests need (Redis, PostgreSQL, Kafka/Tansu; Chromium)
	scripts/services.sh start redis
	scripts/services.sh start postgres
	scripts/services.sh start kafka
	scripts/ensure_package.sh chromium
	scripts/ensure_package.sh java openjdk-17-jre-headless  # Spark (the spark profile's tests)

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

test: services lint  ## the whole test suite against real services
	.venv/bin/pytest -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder --durations=15
	tfx_pipeline/.venv/bin/python -m unittest discover -s tfx_pipeline/tests

bench: setup services  ## benchmarks (heavy; results in bench/results, charts in docs/img)
	scripts/ensure_package.sh wrk
	.venv/bin/python bench/generator_throughput.py
	.venv/bin/python bench/materialize_throughput.py
	.venv/bin/python bench/online_latency.py --rounds 3
	.venv/bin/python bench/predict_latency.py

clean: stop  ## remove runtime state (data, registries, online store, Airflow home, logs)
	rm -rf var feature_repo/data
