# syntax=docker/dockerfile:1.19
# 1.19 or newer because COPY --exclude is generally available from there on: it keeps local state
# (tfx_pipeline/.venv, feature_repo/data, __pycache__) out of the image.
#
# The Airflow image: every Airflow component of docker/compose.yaml runs from it. It holds both
# pinned environments, because tfx 1.16 (numpy<2, pyarrow<11, protobuf<5) cannot share one with
# feast 0.67:
#   /opt/venv                          platform env, Python 3.11, requirements.txt + the
#                                      project; on PATH
#   /opt/platform/tfx_pipeline/.venv   pipeline env, Python 3.10, tfx_pipeline/requirements.txt;
#                                      where settings.pipeline_python looks for it (TAXI_HOME/
#                                      tfx_pipeline/.venv), as in a checkout made by setup.sh
# Each env is built in its own stage, so a change to one lock file rebuilds only that env, and
# both envs are built before any source is copied, so a code change rebuilds neither.
# Build from the repository root: docker compose -f docker/compose.yaml build

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# uv installs the pinned locks (as scripts/setup.sh does) and Python 3.10. The first stages are
# the same in api.Dockerfile and ui.Dockerfile, so BuildKit builds the 3.11 env only once.
FROM ${PYTHON_IMAGE} AS uv
RUN pip install --no-cache-dir "uv==0.13.9"
ENV UV_LINK_MODE=copy

FROM uv AS platform-env
COPY requirements.txt /tmp/requirements.txt
RUN --mount=type=cache,target=/root/.cache/uv \
    uv venv --seed --python /usr/local/bin/python3.11 /opt/venv \
    && uv pip sync --python /opt/venv/bin/python /tmp/requirements.txt

# Python 3.10 comes from `uv python install` (a relocatable python-build-standalone build in
# /opt/python) rather than from the python:3.10 image: copying that image's /usr/local over this
# one would collide with 3.11's files and need its shared libpython registered by hand.
# TFX Transform pip-installs its module file with this interpreter: --seed puts pip in the venv,
# and the lock pins it.
FROM uv AS pipeline-env
ENV UV_PYTHON_INSTALL_DIR=/opt/python UV_PYTHON_PREFERENCE=only-managed
COPY tfx_pipeline/requirements.txt /tmp/pipeline-requirements.txt
RUN --mount=type=cache,target=/root/.cache/uv \
    uv python install 3.10 \
    && uv venv --seed --python 3.10 /opt/platform/tfx_pipeline/.venv \
    && uv pip sync --python /opt/platform/tfx_pipeline/.venv/bin/python \
        /tmp/pipeline-requirements.txt

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    HOME=/opt/airflow \
    TAXI_HOME=/opt/platform \
    AIRFLOW_HOME=/opt/airflow \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/platform/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/platform/plugins \
    AIRFLOW__CORE__LOAD_EXAMPLES=False

# uid 50000 in group 0, as in the official Airflow image: the runtime directories are group
# writable, so a platform that runs containers under another uid in group 0 still works.
RUN useradd --uid 50000 --gid 0 --home-dir /opt/airflow --no-create-home --shell /bin/bash taxi

# The venvs' interpreters are symlinks to /usr/local/bin/python3.11 and /opt/python, which are at
# the same paths here as in the build stages.
COPY --from=platform-env /opt/venv /opt/venv
COPY --from=pipeline-env /opt/python /opt/python
COPY --from=pipeline-env /opt/platform/tfx_pipeline/.venv /opt/platform/tfx_pipeline/.venv

# The project, editable as scripts/setup.sh installs it: settings.PROJECT_ROOT is then
# /opt/platform (= TAXI_HOME) and the feature SQL is read from the source tree. Sources are owned
# by root: the platform writes only under feature_repo/data and var/.
WORKDIR /opt/platform
COPY pyproject.toml ./
COPY --exclude=**/__pycache__ taxi_platform/ taxi_platform/
RUN pip install --no-cache-dir --no-deps --no-build-isolation -e .
COPY --exclude=**/__pycache__ dags/ dags/
COPY --exclude=**/__pycache__ plugins/ plugins/
COPY --exclude=data --exclude=**/__pycache__ feature_repo/ feature_repo/
# Merges into tfx_pipeline/: the pipeline env stays, the build machine's own .venv stays out.
COPY --exclude=.venv --exclude=**/__pycache__ tfx_pipeline/ tfx_pipeline/

# Mount points of the compose volumes, created here so that a new named volume takes this owner.
RUN mkdir -p /opt/platform/feature_repo/data /opt/platform/var /opt/airflow/logs \
    && chown -R 50000:0 /opt/platform/feature_repo/data /opt/platform/var /opt/airflow \
    && chmod -R g+rwX /opt/platform/feature_repo/data /opt/platform/var /opt/airflow

USER 50000:0
# api-server, Celery worker log server, scheduler health check
EXPOSE 8080 8793 8974
CMD ["airflow", "api-server"]
