"""docker/compose.yaml and the Dockerfiles it builds, checked statically: no Docker needed."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from taxi_platform.settings import PROJECT_ROOT, Settings, load_settings

DOCKER = PROJECT_ROOT / "docker"
AIRFLOW_SERVICES = (
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
)
STREAM_SERVICES = ("kafka", "stream-processor")  # real-time area features (issue 13)
EXPECTED_SERVICES = {"postgres", "redis", *AIRFLOW_SERVICES, "api", "ui", *STREAM_SERVICES}
# Services whose entry files are in the repository (all of them now)
SERVICES_WITH_ENTRY_FILES = (*AIRFLOW_SERVICES, "api", "ui")
PUBLISHED_PORTS = {8080: "airflow-apiserver", 8000: "api", 8501: "ui"}
# The services that read and write the platform's state (offline store, registry, downloads);
# the API server's feature health plugin reads the health reports under var/.
DATA_SERVICES = ("airflow-worker", "airflow-apiserver", "api", "ui", "stream-processor")


@cache
def compose() -> dict[str, Any]:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def dockerfile_of(service: dict[str, Any]) -> Path:
    build = service["build"]
    return DOCKER / build["context"] / build.get("dockerfile", "Dockerfile")


@cache
def instructions(dockerfile: Path) -> tuple[tuple[str, str], ...]:
    """(INSTRUCTION, arguments) of a Dockerfile: continuations joined, comments dropped."""
    parsed, current = [], ""
    for raw in dockerfile.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        keyword, _, args = (current + line).partition(" ")
        parsed.append((keyword.upper(), args.strip()))
        current = ""
    return tuple(parsed)


def final_stage(dockerfile: Path) -> list[tuple[str, str]]:
    steps = instructions(dockerfile)
    last_from = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return list(steps[last_from + 1 :])


def argv(args: str) -> list[str]:
    """Arguments of an exec-form (JSON) or shell-form instruction."""
    return json.loads(args) if args.startswith("[") else shlex.split(args)


def image_env(dockerfile: Path) -> dict[str, str]:
    env = {}
    for keyword, args in final_stage(dockerfile):
        if keyword == "ENV":
            env.update(token.split("=", 1) for token in shlex.split(args))
    return env


def workdir(dockerfile: Path) -> str:
    return [args for keyword, args in final_stage(dockerfile) if keyword == "WORKDIR"][-1]


def context_sources(dockerfile: Path) -> list[str]:
    """Sources of the COPY/ADD steps that read the build context (not another stage)."""
    sources = []
    for keyword, args in instructions(dockerfile):
        if keyword not in ("COPY", "ADD"):
            continue
        tokens = argv(args)
        if any(token.startswith("--from=") for token in tokens):
            continue
        sources += [token for token in tokens if not token.startswith("--")][:-1]
    return sources


def command(service: dict[str, Any]) -> list[str]:
    """The service's command: compose's `command`, else the image's CMD."""
    if "command" in service:
        cmd = service["command"]
        return shlex.split(cmd) if isinstance(cmd, str) else list(cmd)
    return argv(
        [args for keyword, args in final_stage(dockerfile_of(service)) if keyword == "CMD"][-1]
    )


def entry_files(name: str) -> set[PurePosixPath]:
    """Repository paths a service's command starts from: its script, or Airflow's dags/plugins."""
    service = services()[name]
    dockerfile = dockerfile_of(service)
    env = {**image_env(dockerfile), **environment(service)}
    home = PurePosixPath(env["TAXI_HOME"])

    def in_repo(path: str) -> PurePosixPath:
        if PurePosixPath(path).is_absolute():
            return PurePosixPath(path).relative_to(home)  # ValueError: not in the project copy
        assert workdir(dockerfile) == str(home), f"{name}: {path} is relative to the WORKDIR"
        return PurePosixPath(path)

    cmd = command(service)
    if cmd[0] == "airflow":
        return {in_repo(env[f"AIRFLOW__CORE__{key}"]) for key in ("DAGS_FOLDER", "PLUGINS_FOLDER")}
    if cmd[0] == "python":
        return {in_repo(cmd[1])}
    if cmd[:2] == ["streamlit", "run"]:
        return {in_repo(cmd[2])}
    raise AssertionError(f"{name}: no rule for the entry file of {cmd}")


def port_pairs(service: dict[str, Any]) -> set[tuple[int, int]]:
    """(published, target) of each published port, short or long syntax."""
    pairs = set()
    for port in service.get("ports", []):
        if isinstance(port, dict):
            pairs.add((int(port["published"]), int(port["target"])))
        else:
            *_, published, target = str(port).split("/")[0].split(":")
            pairs.add((int(published), int(target)))
    return pairs


def volume_mounts(service: dict[str, Any]) -> set[tuple[str, str]]:
    mounts = set()
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            mounts.add((volume["source"], volume["target"]))
        else:
            source, target = volume.split(":")[:2]
            mounts.add((source, target))
    return mounts


def test_expected_services_exist():
    assert set(services()) == EXPECTED_SERVICES


def test_build_contexts_and_dockerfiles_exist():
    built = [name for name, service in services().items() if "build" in service]
    assert set(built) == {*AIRFLOW_SERVICES, "api", "ui", "stream-processor"}
    for name in built:
        assert (DOCKER / services()[name]["build"]["context"]).is_dir(), name
        assert dockerfile_of(services()[name]).is_file(), name


def test_dockerfiles_copy_only_what_the_context_has():
    for name, service in services().items():
        if "build" not in service:
            continue
        context = DOCKER / service["build"]["context"]
        sources = context_sources(dockerfile_of(service))
        assert sources, name
        for source in sources:
            assert list(context.glob(source.rstrip("/"))), f"{name}: COPY {source}: not in context"


def test_services_start_from_files_in_the_repository():
    for name in SERVICES_WITH_ENTRY_FILES:
        files = entry_files(name)
        assert files, name
        shipped = {
            PurePosixPath(src).parts[0] for src in context_sources(dockerfile_of(services()[name]))
        }
        for path in files:
            assert (PROJECT_ROOT / path).exists(), f"{name}: {path} is not in the repository"
            assert path.parts[0] in shipped, f"{name}: {path} is not copied into the image"


def test_pipeline_env_is_where_the_settings_look_for_it():
    """ExternalPythonOperator tasks run settings.pipeline_python: tfx_pipeline/.venv next to the
    code, which the image copies to TAXI_HOME."""
    dockerfile = dockerfile_of(services()["airflow-worker"])
    env = image_env(dockerfile)
    relative = load_settings().pipeline_python.relative_to(PROJECT_ROOT)
    venv = str((PurePosixPath(env["TAXI_HOME"]) / relative).parent.parent)
    stage_copies = [
        argv(args)[-1]
        for keyword, args in final_stage(dockerfile)
        if keyword == "COPY" and args.startswith("--from=")
    ]
    assert venv in stage_copies, f"no build stage copies the pipeline env to {venv}"


def test_api_and_ui_commands_name_their_entry_files():
    assert entry_files("api") == {PurePosixPath("api/main.py")}
    assert entry_files("ui") == {PurePosixPath("ui/streamlit_app.py")}


def test_taxi_variables_are_platform_settings():
    """Every TAXI_ variable compose or an image sets is read by Settings (or the Redis yaml):
    one set nowhere read is configuration that silently does nothing."""
    known = {f"TAXI_{field.upper()}" for field in Settings.model_fields}
    redis_yaml = (PROJECT_ROOT / "feature_repo" / "feature_store.redis.yaml").read_text()
    known |= set(re.findall(r"\$\{(TAXI_\w+)\}", redis_yaml))
    used = {
        name: {key: value for key, value in environment(service).items() if key.startswith("TAXI_")}
        for name, service in services().items()
    }
    unknown = {(name, key) for name, env in used.items() for key in env if key not in known}
    assert not unknown
    built = {dockerfile_of(service) for service in services().values() if "build" in service}
    in_images = {
        (path.name, key) for path in built for key in image_env(path) if key.startswith("TAXI_")
    }
    assert {(name, key) for name, key in in_images if key not in known} == set()
    # The DAG files read the settings when parsed: every process must see the same ones.
    others = ("postgres", "redis", "kafka")
    platform = {name: env for name, env in used.items() if name not in others}
    assert len({json.dumps(env, sort_keys=True) for env in platform.values()}) == 1
    assert used["airflow-worker"]["TAXI_PROFILE"] == "redis"
    assert used["airflow-worker"]["TAXI_REDIS_HOST"] in services()


def unknown_airflow_options(names: set[str], airflow_home: Path) -> list[str]:
    """The AIRFLOW__SECTION__KEY names that are no current Airflow configuration option.

    A child process, because importing airflow.configuration sets up Airflow's configuration for
    the whole process, which the DAG tests do themselves (tests/airflow_support.py); and without
    AIRFLOW__ variables, since `conf.has_option` is true for any name set in the environment. It
    is also false for options that have no default (celery.result_backend,
    core.execution_api_server_url), so the documented options of Airflow and its providers count
    as well; deprecated names do not.
    """
    script = """
import json, sys
from airflow.configuration import conf
described = conf.configuration_description
deprecated = {(section, key) for section, key, _ in conf.deprecated_options.values()}
unknown = []
for name in json.load(sys.stdin):
    section, key = (part.lower() for part in name.split("__", 2)[1:])
    known = conf.has_option(section, key) or key in described.get(section, {}).get("options", {})
    if not known or (section, key) in deprecated:
        unknown.append(name)
print(json.dumps(unknown))
"""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW__")}
    env["AIRFLOW_HOME"] = str(airflow_home)
    result = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(sorted(names)),
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.splitlines()[-1])


def test_airflow_variables_are_airflow_options(tmp_path):
    names = {key for service in services().values() for key in environment(service)}
    for dockerfile in {dockerfile_of(s) for s in services().values() if "build" in s}:
        names |= set(image_env(dockerfile))
    names = {name for name in names if name.startswith("AIRFLOW__")}
    assert len(names) > 10
    # A wrong name goes along to show that the check catches one.
    wrong = "AIRFLOW__CORE__NO_SUCH_OPTION"
    assert unknown_airflow_options({*names, wrong}, tmp_path) == [wrong]


def test_airflow_components_share_one_configuration():
    """One JWT secret, broker, database... for all, or tasks fail between components."""
    envs = {name: environment(services()[name]) for name in AIRFLOW_SERVICES}
    assert len({json.dumps(env, sort_keys=True) for env in envs.values()}) == 1
    env = envs["airflow-worker"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert "@postgres:5432/" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert "@postgres:5432/" in env["AIRFLOW__CELERY__RESULT_BACKEND"]
    # Celery on its own Redis database: db 0 is the online store's.
    assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://redis:6379/1"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].startswith(
        "http://airflow-apiserver:8080/"
    )
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"]


def test_depends_on_targets_exist():
    for name, service in services().items():
        depends = service.get("depends_on", {})
        conditions = (
            dict.fromkeys(depends, "service_started")
            if isinstance(depends, list)
            else {
                target: spec.get("condition", "service_started") for target, spec in depends.items()
            }
        )
        for target, condition in conditions.items():
            assert target in services(), f"{name} depends on unknown {target}"
            if condition == "service_healthy":
                target_service = services()[target]
                has_check = "healthcheck" in target_service or (
                    "build" in target_service
                    and any(
                        k == "HEALTHCHECK" for k, _ in final_stage(dockerfile_of(target_service))
                    )
                )
                assert has_check, f"{name} waits for {target} to be healthy; it has no healthcheck"
        if name in AIRFLOW_SERVICES and name != "airflow-init":
            assert conditions.get("airflow-init") == "service_completed_successfully", name
    assert services()["airflow-init"]["command"] == ["airflow", "db", "migrate"]


def test_ports_are_published_by_the_right_services():
    published = {
        port: name
        for name, service in services().items()
        for port, target in port_pairs(service)
        if port == target
    }
    assert published == PUBLISHED_PORTS
    assert sum(len(port_pairs(service)) for service in services().values()) == 3


def test_workers_api_and_ui_share_the_platform_data():
    home = image_env(dockerfile_of(services()["airflow-worker"]))["TAXI_HOME"]
    wanted = {f"{home}/feature_repo/data", f"{home}/var"}
    mounts = {
        name: {
            (source, target)
            for source, target in volume_mounts(services()[name])
            if target in wanted
        }
        for name in DATA_SERVICES
    }
    assert all({target for _, target in m} == wanted for m in mounts.values()), mounts
    assert len({frozenset(m) for m in mounts.values()}) == 1, mounts
    for source, _ in mounts["airflow-worker"]:
        assert source in compose()["volumes"], f"{source} is not a named volume"


def test_ui_reaches_the_api_and_airflow_and_reads_their_password():
    """The dashboard talks to the API and Airflow's REST API by their service names, and logs in
    with the password the Airflow API server generates on the volume both mount."""
    env = environment(services()["ui"])
    assert env["TAXI_UI_API_URL"] == "http://api:8000"
    ui = load_settings(**{k[5:].lower(): v for k, v in env.items() if k.startswith("TAXI_")})
    assert ui.ui_airflow_base == "http://airflow-apiserver:8080"
    written = environment(services()["airflow-apiserver"])
    password_file = written["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]
    assert env["TAXI_UI_AIRFLOW_PASSWORD_FILE"] == password_file
    home = image_env(dockerfile_of(services()["ui"]))["TAXI_HOME"]
    assert PurePosixPath(password_file).parent == PurePosixPath(f"{home}/var")
    # the dashboard parses answers with the API's schemas: both packages are in its image
    shipped = {
        PurePosixPath(src).parts[0] for src in context_sources(dockerfile_of(services()["ui"]))
    }
    assert {"api", "ui", "taxi_platform"} <= shipped


# --- the feature health plugin in the Airflow image (checked statically: no Docker here) ------

PLUGIN = PurePosixPath("plugins/feature_health.py")
# What the health DAG's tasks import when they run (dags/taxi_feature_health.py imports lazily).
HEALTH_JOBS = "taxi_platform.jobs.feature_health"
COMPOSE_DEFAULT = re.compile(r"\$\{\w+:-([^}]*)\}")


def copied_into_home(dockerfile: Path) -> dict[str, list[str]]:
    """Top-level repository folders the final stage copies to the same place under the WORKDIR
    (TAXI_HOME), with their --exclude patterns."""
    copied = {}
    for keyword, args in final_stage(dockerfile):
        tokens = argv(args) if keyword == "COPY" else []
        if any(token.startswith("--from=") for token in tokens):
            continue
        paths = [token for token in tokens if not token.startswith("--")]
        excludes = [token.split("=", 1)[1] for token in tokens if token.startswith("--exclude=")]
        for source in paths[:-1]:
            if paths[-1].rstrip("/") in (source.rstrip("/"), "."):
                copied[PurePosixPath(source).parts[0]] = excludes
    return copied


def imported_project_files(airflow_home: Path, plugin: Path, *modules: str) -> list[PurePosixPath]:
    """Repository files loaded by importing the plugin file and ``modules``, in a child process
    (Airflow sets up its configuration on import); fails unless the file defines an
    AirflowPlugin subclass."""
    script = """
import importlib, importlib.util, json, sys
from airflow.plugins_manager import AirflowPlugin
plugin, root, modules = sys.argv[1], sys.argv[2], sys.argv[3:]
spec = importlib.util.spec_from_file_location("taxi_plugin_under_test", plugin)
module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
found = [v for v in vars(module).values() if isinstance(v, type) and issubclass(v, AirflowPlugin)]
assert [v for v in found if v is not AirflowPlugin], "no AirflowPlugin subclass in " + plugin
for name in modules:
    importlib.import_module(name)
files = {getattr(m, "__file__", None) or "" for m in list(sys.modules.values())}
ours = [f for f in files if f.startswith(root + "/") and not f.startswith(sys.prefix + "/")]
print(json.dumps(sorted(ours)))
"""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW__")}
    env["AIRFLOW_HOME"] = str(airflow_home)
    result = subprocess.run(
        [sys.executable, "-c", script, str(plugin), str(PROJECT_ROOT), *modules],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    files = json.loads(result.stdout.splitlines()[-1])
    return [PurePosixPath(Path(f).relative_to(PROJECT_ROOT).as_posix()) for f in files]


def compose_settings(service: str) -> Settings:
    """The settings a service's processes load: its TAXI_ variables with compose's defaults for
    unset ${VAR:-default} values, and the image's TAXI_HOME."""
    env = {
        **image_env(dockerfile_of(services()[service])),
        **environment(services()[service]),
    }
    taxi = {
        key.removeprefix("TAXI_").lower(): COMPOSE_DEFAULT.sub(r"\1", value)
        for key, value in env.items()
        if key.startswith("TAXI_")
    }
    return Settings(_env_file=None, **taxi)


def test_airflow_image_carries_the_feature_health_plugin(tmp_path):
    """The api-server loads plugins/ from AIRFLOW__CORE__PLUGINS_FOLDER; the image must hold the
    plugin there and every project file the plugin and the health DAG's tasks import."""
    dockerfile = dockerfile_of(services()["airflow-apiserver"])
    env = image_env(dockerfile)
    home = PurePosixPath(env["TAXI_HOME"])
    assert workdir(dockerfile) == str(home)
    assert PurePosixPath(env["AIRFLOW__CORE__PLUGINS_FOLDER"]) == home / PLUGIN.parent
    copied = copied_into_home(dockerfile)
    files = imported_project_files(tmp_path / "airflow", PROJECT_ROOT / PLUGIN, HEALTH_JOBS)
    assert PLUGIN in files and PurePosixPath("taxi_platform/monitoring/health.py") in files
    templates = [
        PurePosixPath(p.relative_to(PROJECT_ROOT).as_posix())
        for p in (PROJECT_ROOT / "taxi_platform" / "monitoring" / "templates").iterdir()
    ]
    for path in [*files, *templates]:
        assert path.parts[0] in copied, f"{path} is not copied into the Airflow image"
        excluded = [p for p in copied[path.parts[0]] if path.match(p) or path.match(f"{p}/*")]
        assert not excluded, f"{path} is excluded from the image by {excluded}"


def test_airflow_image_installs_the_platform_package():
    """The plugin imports taxi_platform in the api-server: the project is pip-installed after
    its sources are copied, from the pyproject that lists the taxi_platform packages."""
    steps = final_stage(dockerfile_of(services()["airflow-apiserver"]))
    copy_at = next(
        i
        for i, (keyword, args) in enumerate(steps)
        if keyword == "COPY" and "taxi_platform/" in argv(args)
    )
    install_at = [
        i
        for i, (keyword, args) in enumerate(steps)
        if keyword == "RUN" and re.search(r"pip install .*-e \.(\s|$)", args)
    ]
    assert install_at and install_at[0] > copy_at, "taxi_platform is not installed after COPY"
    assert any(keyword == "COPY" and "pyproject.toml" in args for keyword, args in steps)
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    assert "taxi_platform*" in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]


def test_health_reports_are_shared_by_the_dag_the_api_and_the_plugin():
    """The worker writes reports where the api-server (plugin) and the API read them: one
    monitoring folder on one named volume, with the same monitoring settings everywhere."""
    readers = ("airflow-worker", "airflow-apiserver", "api")
    settings = {name: compose_settings(name) for name in readers}
    folders = {str(s.monitoring_dir) for s in settings.values()}
    assert len(folders) == 1, folders
    [folder] = folders
    volumes = {
        name: {
            source
            for source, target in volume_mounts(services()[name])
            if folder.startswith(target.rstrip("/") + "/")
        }
        for name in readers
    }
    assert len({frozenset(v) for v in volumes.values()}) == 1, volumes
    [volume] = volumes["api"]
    assert volume in compose()["volumes"], f"{folder} is not on a named volume"
    monitoring = {
        name: {k: v for k, v in s.model_dump().items() if k.startswith(("monitoring_", "alert_"))}
        for name, s in settings.items()
    }
    assert len({json.dumps(m, sort_keys=True, default=str) for m in monitoring.values()}) == 1
    assert settings["airflow-worker"].alert_webhook_url == ""  # off unless set


def test_stream_processor_runs_the_platform_cli_against_kafka_in_kraft_mode():
    """The processor is its own service running `taxi-platform stream process` (installed by
    its image) against the compose Kafka, which runs KRaft (a controller role, no ZooKeeper)."""
    kafka, processor = services()["kafka"], services()["stream-processor"]
    assert kafka["image"].startswith("apache/kafka:")
    roles = set(kafka["environment"]["KAFKA_PROCESS_ROLES"].split(","))
    assert roles == {"broker", "controller"} and "zookeeper" not in json.dumps(kafka).lower()
    assert processor["command"] == ["taxi-platform", "stream", "process"]
    scripts = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert "taxi-platform" in scripts
    env = environment(processor)
    assert env["TAXI_STREAM_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert env["TAXI_STREAM_HEALTH_HOST"] == "0.0.0.0"  # its healthcheck reaches it
    advertised = kafka["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    assert advertised.endswith("//" + env["TAXI_STREAM_BOOTSTRAP_SERVERS"])
    assert str(load_settings().stream_health_port) in json.dumps(processor["healthcheck"])
    assert processor["depends_on"]["kafka"]["condition"] == "service_healthy"
