#!/usr/bin/env bash
# ensure_package.sh COMMAND [PACKAGE]: install a Debian package when COMMAND is missing.
# The browser tests drive Debian's Chromium (Playwright's own browser download does not work
# offline); the latency benchmarks drive wrk; Spark needs java (openjdk-17-jre-headless).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
command=${1:?usage: ensure_package.sh COMMAND [PACKAGE]}
package=${2:-$command}
if command -v "$command" >/dev/null; then say "$command: $(command -v "$command")"; exit 0; fi
[[ $EUID -eq 0 ]] && command -v apt-get >/dev/null || die "install $package (apt-get install $package)"
say "installing $package (Debian package)"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null \
  || die "apt-get install $package failed"
