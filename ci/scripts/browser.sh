#!/usr/bin/env bash
# Chromium for the docs page's browser test, where it is missing and Debian's apt-get can install it (as root).
set -euo pipefail
for browser in chromium google-chrome-stable google-chrome; do
    if command -v "$browser" >/dev/null; then exit 0; fi
done
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    # One apt-get at a time: `just check` runs this beside the other install script.
    exec 9>"${TMPDIR:-/tmp}/items-service-apt.lock" && flock 9
    echo "Installing Chromium from Debian's packages for the browser test (once)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
        || echo "Chromium could not be installed: the browser test will be skipped"
else
    echo "No Chromium on PATH: the browser test will be skipped (install Debian's chromium package)"
fi
