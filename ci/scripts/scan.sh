#!/usr/bin/env bash
# `just scan`: the built image scanned for known vulnerabilities by Trivy (run from its image); writes trivy.sarif.
set -euo pipefail
read -ra uv <<< "${UV:-uv}"
workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
"$ENGINE" save --output "$workdir/image.tar" "$IMAGE_NAME:$("${uv[@]}" version --short)"
"$ENGINE" run --rm --volume "$workdir:/scan" "$TRIVY" image --input /scan/image.tar \
    --scanners vuln --format sarif --output /scan/trivy.sarif
cp "$workdir/trivy.sarif" trivy.sarif
echo "Wrote trivy.sarif"
