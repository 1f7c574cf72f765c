#!/usr/bin/env bash
# `just base-image [TAG]`: a local Python base image from Debian's packages, for machines without a registry.
set -euo pipefail
tag=$1
archive=$(mktemp --suffix=.tar)
trap 'rm -f "$archive"' EXIT
# shellcheck disable=SC2016 # "$1" is the hook's own argument (the new root), expanded by mmdebstrap
mmdebstrap --quiet --variant=minbase \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --include=python3,python3-venv,python-is-python3,ca-certificates \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/*' \
    bookworm "$archive" \
    "deb http://deb.debian.org/debian bookworm main" \
    "deb http://deb.debian.org/debian bookworm-updates main" \
    "deb http://deb.debian.org/debian-security bookworm-security main"
"$ENGINE" import --change 'CMD ["python3"]' "$archive" "$tag"
echo "Imported $tag"
