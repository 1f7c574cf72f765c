#!/usr/bin/env bash
# `just lint-deploy`: the deployment files (ci/deploy/) validated offline: each overlay against the Kubernetes schemas
# and ci/manifests_check.py, checkov, promtool, the dashboard, Compose's schema, the collector's wiring, nginx -t.
set -euo pipefail
read -ra run <<< "${RUN:-uv run --locked}"
read -ra tools <<< "$DEPLOY_TOOLS"
workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
overlays=(staging production)
rendered=()
for overlay in "${overlays[@]}"; do
    "${tools[@]}" kubectl kustomize "ci/deploy/kubernetes/$overlay" > "$workdir/$overlay.yaml"
    rendered+=("$workdir/$overlay.yaml")
done
for version in $KUBERNETES_VERSIONS; do  # both overlays in one run: each run takes half a second to start
    "${tools[@]}" kubernetes-validate --strict --quiet --kubernetes-version "$version" "${rendered[@]}"
done
for overlay in "${overlays[@]}"; do
    "${run[@]}" python ci/manifests_check.py "ci/deploy/kubernetes/$overlay" "$workdir/$overlay.yaml"
    echo "$overlay: valid against Kubernetes $KUBERNETES_VERSIONS (strict), pinned, scaled by its autoscaler"
done
# checkov recognises only files named Dockerfile. Exceptions are declared, with their reason, where they apply.
cp Containerfile "$workdir/Dockerfile"
"${tools[@]}" checkov --quiet --compact --skip-download --framework kubernetes dockerfile --directory "$workdir"
promtool check config ci/deploy/prometheus/prometheus.yml
promtool test rules ci/deploy/prometheus/alerts_test.yml
"${run[@]}" python ci/dashboard_check.py ci/deploy/grafana/dashboards/*.json
"${run[@]}" check-jsonschema --builtin-schema vendor.compose-spec ci/deploy/compose.yaml
"${run[@]}" python ci/collector_check.py ci/deploy/otel-collector/config.yaml ci/deploy/compose.yaml
# nginx.conf as Compose runs it, with the replicas' host names (known only inside Compose) made local.
mkdir "$workdir/nginx"
ln -s "$PWD/ci/deploy/nginx/nginx.conf" "$PWD/ci/deploy/nginx/listen.conf" "$workdir/nginx/"
sed 's/replica-[0-9]*:/127.0.0.1:/' ci/deploy/nginx/replicas.conf > "$workdir/nginx/replicas.conf"
nginx -t -q -c "$workdir/nginx/nginx.conf" -g "pid $workdir/nginx/nginx.pid;"
echo "ci/deploy/nginx/nginx.conf: valid"
