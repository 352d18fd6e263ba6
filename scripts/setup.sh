#!/usr/bin/env bash
# Create (or bring up to date) the two pinned environments:
#   .venv                platform, Python 3.11, requirements.txt (+ this project, editable)
#   tfx_pipeline/.venv   pipeline, Python 3.10, tfx_pipeline/requirements.txt
# Idempotent: an environment whose lock file has not changed is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
export UV_PYTHON_DOWNLOADS=never

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

find_python() {  # find_python 3.10 -> path of a working interpreter of that version
  local version=$1 candidate
  for candidate in "python$version" /root/.pyenv/versions/"$version".*/bin/python \
                   /usr/local/bin/python"$version" /usr/bin/python"$version"; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$version'.split('.'))))" 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  return 1
}

ensure_uv() {
  command -v uv >/dev/null 2>&1 && return
  say "installing uv"
  python3 -m pip install --quiet "uv==0.13.9" || die "could not install uv with pip"
}

sync_env() {  # sync_env <venv dir> <python version> <lock file> [extra install args]
  local venv=$1 version=$2 lock=$3; shift 3
  local stamp="$venv/.lock.sha256" digest python
  digest=$(cat "$lock" pyproject.toml | sha256sum | cut -d' ' -f1)
  if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$digest" ]]; then
    say "$venv is up to date"; return
  fi
  python=$(find_python "$version") || die "Python $version not found; install it (pyenv install $version)"
  say "creating $venv with Python $version from $lock"
  [[ -x "$venv/bin/python" ]] || uv venv --quiet --seed -p "$python" "$venv"
  uv pip sync --quiet -p "$venv/bin/python" "$lock"
  if (($#)); then uv pip install --quiet -p "$venv/bin/python" "$@"; fi
  echo "$digest" > "$stamp"
}

ensure_uv
sync_env .venv 3.11 requirements.txt --no-deps -e .
sync_env tfx_pipeline/.venv 3.10 tfx_pipeline/requirements.txt
say "platform: .venv/bin/python ($(.venv/bin/python -c 'import feast; print("feast", feast.__version__)'))"
say "pipeline: tfx_pipeline/.venv/bin/python"
