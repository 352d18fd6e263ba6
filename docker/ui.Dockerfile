# syntax=docker/dockerfile:1.19
# The Streamlit dashboard: platform env only (Python 3.11, requirements.txt +
# the project). Build from the repository root: docker compose -f docker/compose.yaml build ui

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# Same first stages as airflow.Dockerfile: BuildKit builds the 3.11 env once for all images.
FROM ${PYTHON_IMAGE} AS uv
RUN pip install --no-cache-dir "uv==0.13.9"
ENV UV_LINK_MODE=copy

FROM uv AS platform-env
COPY requirements.txt /tmp/requirements.txt
RUN --mount=type=cache,target=/root/.cache/uv \
    uv venv --seed --python /usr/local/bin/python3.11 /opt/venv \
    && uv pip sync --python /opt/venv/bin/python /tmp/requirements.txt

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    TAXI_HOME=/opt/platform \
    STREAMLIT_SERVER_HEADLESS=true \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false
RUN useradd --uid 50000 --gid 0 --create-home --shell /bin/bash taxi
COPY --from=platform-env /opt/venv /opt/venv

# Editable, as in airflow.Dockerfile: settings.PROJECT_ROOT is /opt/platform (= TAXI_HOME).
WORKDIR /opt/platform
COPY pyproject.toml ./
COPY --exclude=**/__pycache__ taxi_platform/ taxi_platform/
RUN pip install --no-cache-dir --no-deps --no-build-isolation -e .
COPY --exclude=data --exclude=**/__pycache__ feature_repo/ feature_repo/
# The dashboard parses the API's answers with the API's own schemas (api/models)
COPY --exclude=**/__pycache__ api/ api/
COPY --exclude=**/__pycache__ ui/ ui/

# Mount points of the shared platform volumes, owned like in the Airflow image.
RUN mkdir -p /opt/platform/feature_repo/data /opt/platform/var \
    && chown -R 50000:0 /opt/platform/feature_repo/data /opt/platform/var \
    && chmod -R g+rwX /opt/platform/feature_repo/data /opt/platform/var

USER 50000:0
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://localhost:8501/_stcore/health', timeout=4)"]
CMD ["streamlit", "run", "ui/streamlit_app.py", "--server.port", "8501", "--server.address", "0.0.0.0"]
