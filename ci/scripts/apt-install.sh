#!/usr/bin/env bash
# Install what is missing from Debian's or Ubuntu's packages, through sudo where not root: each NEED is
# PROGRAM=PACKAGE, installed only when PROGRAM is not on PATH.
set -euo pipefail
packages=()
for need in "$@"; do
    command -v "${need%%=*}" >/dev/null || packages+=("${need#*=}")
done
[ ${#packages[@]} -gt 0 ] || exit 0
sudo=()
[ "$(id -u)" = 0 ] || sudo=(sudo)
# One apt-get at a time: `just check` runs this beside the other install script.
exec 9>"${TMPDIR:-/tmp}/items-service-apt.lock" && flock 9
echo "Installing ${packages[*]} from the system's packages"
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
