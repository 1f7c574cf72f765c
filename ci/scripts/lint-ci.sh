#!/usr/bin/env bash
# `just lint-ci`: the templates in ci/ audited offline: zizmor (every severity), the workflow and Renovate schemas,
# the hooks' configuration, and no drift between a template and its installed copy.
set -euo pipefail
read -ra run <<< "${RUN:-uv run --locked}"
"${run[@]}" zizmor --offline --persona=pedantic ci/*.yml
"${run[@]}" check-jsonschema --builtin-schema vendor.github-workflows ci/*.yml
"${run[@]}" check-jsonschema --builtin-schema vendor.renovate ci/renovate.json
"${run[@]}" pre-commit validate-config .pre-commit-config.yaml
"$JUST" ci-templates | while read -r template installed; do
    [ -f "$installed" ] || continue
    diff -u "$template" "$installed" || { echo "$installed has drifted from $template: run just ci-install"; exit 1; }
done
