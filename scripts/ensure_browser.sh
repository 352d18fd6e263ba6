#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (Playwright's own browser download does not work
# offline); install it when it is missing.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
if [[ -x /usr/bin/chromium ]]; then say "Chromium: $(/usr/bin/chromium --version 2>/dev/null)"; exit 0; fi
[[ $EUID -eq 0 ]] && command -v apt-get >/dev/null || die "install Chromium (apt-get install chromium)"
say "installing chromium (Debian package)"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || die "apt-get install chromium failed"
