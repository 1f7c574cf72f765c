# The single command surface: developers, .ci/run and the workflows in ci/ all call these recipes.
set shell := ["bash", "-euo", "pipefail", "-c"]

# uv sets UV to its own path inside `uv run`, so recipes work when uv itself is not on PATH.
uv := env("UV", "uv")
run := uv + " run --locked"

# Python caches each module's bytecode the first time it imports it, unless PYTHONDONTWRITEBYTECODE is set,
# as on many CI machines and container hosts: then every start compiles every module again (a cold start
# twice as long). The recipes keep the cache. uv's own compile-bytecode setting is no substitute: it
# recompiles the whole environment on every `uv run`, and says so on stderr.
export PYTHONDONTWRITEBYTECODE := ""
# Debian installs nginx in /usr/sbin, which is not on a normal user's PATH.
export PATH := env("PATH") + ":/usr/sbin:/sbin"

# Container images: podman or docker, whichever is installed (CONTAINER_ENGINE overrides).
engine := env("CONTAINER_ENGINE", `command -v podman >/dev/null 2>&1 && echo podman || echo docker`)
# Registries want lower case; GitHub's owner/repository names may not be.
image_name := lowercase(env("IMAGE", "ghcr.io/example-org/items-service"))
# The Containerfile's default base, defined there only (where Renovate keeps it current).
default_base := shell("sed -n 's/^ARG BASE_IMAGE=//p' \"$1\"", justfile_directory() / "Containerfile")
local_base := "localhost/python-base:3.11-bookworm"
# The host's CA bundle, passed to builds as a secret where PyPI is reached through a TLS-inspecting proxy.
ca_bundle := env("CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
trivy := "docker.io/aquasec/trivy:0.69.3@sha256:bcc376de8d77cfe086a917230e818dc9f8528e3c852f7b1aff648949b6258d1c"
staging := "items-service-staging"
# kubectl, kubernetes-validate and checkov bring pydantic, which the tests' environment must not have: they get
# an environment of their own (a lasting one, where Python keeps checkov's compiled modules: 4 s to start, not 12).
deploy_tools := "env -u VIRTUAL_ENV UV_PROJECT_ENVIRONMENT=.venv-deploy " + uv + " run --locked --only-group deploy-tools"
# The Kubernetes versions the manifests are validated against: the oldest supported, and the newest known.
kubernetes_versions := "1.32.0 1.37.0"
compose := env("COMPOSE", if engine =~ "podman" { "podman-compose" } else { engine + " compose" })

# List the recipes
default:
    @{{just_executable()}} --list --unsorted

# Install the locked environment (runtime and dev tools) into .venv
sync:
    @{{uv}} sync --locked

# Apply pending schema migrations to DATABASE_URL, then exit (what Kubernetes' init container runs)
migrate:
    @{{run}} python -m app migrate

# Run the service as in production: JSON logs, HOST:PORT and every variable in the README honoured
[no-exit-message]
run:
    #!/usr/bin/env bash
    set -euo pipefail
    # Stopped by Ctrl-C or SIGTERM, the service exits 0, and just would then print a text line of its own
    # ("error: interrupted by SIGTERM"). Answering with the conventional 130 or 143 keeps every line JSON.
    # Ctrl-C reaches the service from the terminal; a SIGTERM may have been sent to just alone. More signals
    # follow (uv and just forward theirs), and each cuts a `wait` short: wait until the service is gone.
    {{run}} python -m app &
    service=$!
    stop() {
        trap "" INT TERM
        if [ "$1" = 143 ]; then kill -TERM "$service" 2>/dev/null || true; fi
        while kill -0 "$service" 2>/dev/null; do wait "$service" || true; done
        exit "$1"
    }
    trap 'stop 143' TERM
    trap 'stop 130' INT
    wait $service

# Print a 15-minute access token for SCOPES, signed by this checkout's development key (made on first use)
token *scopes:
    @{{run}} python ci/dev_token.py {{scopes}}

# Run the service as `just run` does, trusting only the development key of `just token`
[no-exit-message]
run-dev-auth:
    #!/usr/bin/env bash
    set -euo pipefail
    eval "$({{run}} python ci/dev_token.py --environment)"
    exec {{just_executable()}} run

# Run the service with auto-reload and readable coloured logs, for local work
dev:
    @LOG_FORMAT="${LOG_FORMAT:-console}" {{run}} python -m app --reload

# Install the git hooks (.pre-commit-config.yaml): every commit runs `just fmt`, then `just lint` as CI runs it
hooks:
    {{run}} pre-commit install

# Format the code and apply safe lint fixes
fmt:
    {{run}} ruff format .
    {{run}} ruff check --fix .

# Lint and check formatting (ruff), and the Containerfile (hadolint)
lint:
    {{run}} ruff check .
    {{run}} ruff format --check .
    {{run}} hadolint Containerfile

# Type-check in pyright's strict mode
typecheck:
    @{{run}} pyright

# Run the tests with branch coverage of app/ (100% required); arguments go to pytest
test *pytest_args: browser
    {{run}} coverage erase
    {{run}} coverage run -m pytest {{pytest_args}}
    {{run}} coverage combine --quiet
    {{run}} coverage xml --quiet --fail-under=0
    {{run}} coverage report

# Install what is missing from Debian's or Ubuntu's packages, through sudo where not root: each NEED is PROGRAM=PACKAGE
[private]
apt-install +needs:
    #!/usr/bin/env bash
    set -euo pipefail
    packages=()
    for need in {{needs}}; do
        command -v "${need%%=*}" >/dev/null || packages+=("${need#*=}")
    done
    [ ${#packages[@]} -gt 0 ] || exit 0
    sudo=(); [ "$(id -u)" = 0 ] || sudo=(sudo)
    echo "Installing ${packages[*]} from the system's packages"
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null

# Install Chromium for the docs page's browser test, where it is missing and Debian's apt-get can (as root)
browser:
    #!/usr/bin/env bash
    set -euo pipefail
    for browser in chromium google-chrome-stable google-chrome; do
        if command -v "$browser" >/dev/null; then exit 0; fi
    done
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "Installing Chromium from Debian's packages for the browser test (once)"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
            || echo "Chromium could not be installed: the browser test will be skipped"
    else
        echo "No Chromium on PATH: the browser test will be skipped (install Debian's chromium package)"
    fi

# Everything a change must pass before it is pushed: lint, lint-ci, lint-deploy, typecheck, test
check: lint lint-ci lint-deploy typecheck test

# Build the image, tagged IMAGE:VERSION and IMAGE:sha-COMMIT; extra arguments go to the build
image *build_args:
    #!/usr/bin/env bash
    set -euo pipefail
    version=$({{uv}} version --short)
    revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
    options=(--file Containerfile --tag "{{image_name}}:$version" --tag "{{image_name}}:sha-${revision:0:7}")
    options+=(--build-arg "VERSION=$version" --build-arg "REVISION=$revision" --build-arg "CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)")
    # podman and buildah drop HEALTHCHECK from OCI-format images.
    if [ "{{engine}}" = podman ]; then options+=(--format docker); fi
    if [ -f "{{ca_bundle}}" ]; then options+=(--secret "id=ca-certificates,src={{ca_bundle}}"); fi
    {{engine}} build "${options[@]}" {{build_args}} .
    echo "Built {{image_name}}:$version and {{image_name}}:sha-${revision:0:7}"

# Build a local Python base image from Debian's packages, for machines without a container registry
base-image tag=local_base: (apt-install "mmdebstrap=mmdebstrap")
    #!/usr/bin/env bash
    set -euo pipefail
    archive=$(mktemp --suffix=.tar)
    trap 'rm -f "$archive"' EXIT
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
    {{engine}} import --change 'CMD ["python3"]' "$archive" "{{tag}}"
    echo "Imported {{tag}}"

# Smoke-test a running instance over HTTP (health, an item's life, calculate, a 4xx)
smoke $url=env("DEPLOY_URL", "http://127.0.0.1:8000"):
    @{{run}} python ci/smoke.py "$url"

# Build the image and prove it by running it (read-only root, health, smoke, uid, restart, SIGTERM)
image-test:
    #!/usr/bin/env bash
    set -euo pipefail
    base=()
    if ! {{engine}} image inspect "{{default_base}}" >/dev/null 2>&1 && ! {{engine}} pull --quiet "{{default_base}}" >/dev/null 2>&1; then
        echo "{{default_base}} cannot be pulled here: building on {{local_base}}"
        {{engine}} image inspect "{{local_base}}" >/dev/null 2>&1 || {{just_executable()}} base-image
        base=(--build-arg "BASE_IMAGE={{local_base}}")
    fi
    {{just_executable()}} image "${base[@]}"
    {{run}} python ci/image_check.py "{{image_name}}:$({{uv}} version --short)" {{engine}}

# Fuzz the API from its own OpenAPI document (schemathesis, every check), open and checking tokens
fuzz examples="300":
    @RUN="{{run}}" bash ci/scripts/fuzz.sh {{examples}}

# Audit the templates in ci/ offline: zizmor (every severity), the workflow and Renovate schemas, the hooks, drift
lint-ci:
    #!/usr/bin/env bash
    set -euo pipefail
    {{run}} zizmor --offline --persona=pedantic ci/*.yml
    {{run}} check-jsonschema --builtin-schema vendor.github-workflows ci/*.yml
    {{run}} check-jsonschema --builtin-schema vendor.renovate ci/renovate.json
    {{run}} pre-commit validate-config .pre-commit-config.yaml
    {{just_executable()}} ci-templates | while read -r template installed; do
        [ -f "$installed" ] || continue
        diff -u "$template" "$installed" || { echo "$installed has drifted from $template: run just ci-install"; exit 1; }
    done

# Validate the deployment files (ci/deploy/) offline: Kubernetes schemas, checkov, promtool, dashboard, Compose, nginx
lint-deploy: (apt-install "promtool=prometheus" "nginx=nginx")
    #!/usr/bin/env bash
    set -euo pipefail
    workdir=$(mktemp -d)
    trap 'rm -rf "$workdir"' EXIT
    for overlay in staging production; do
        {{deploy_tools}} kubectl kustomize "ci/deploy/kubernetes/$overlay" > "$workdir/$overlay.yaml"
        for version in {{kubernetes_versions}}; do
            {{deploy_tools}} kubernetes-validate --strict --quiet --kubernetes-version "$version" "$workdir/$overlay.yaml"
        done
        {{run}} python ci/manifests_check.py "ci/deploy/kubernetes/$overlay" "$workdir/$overlay.yaml"
        echo "$overlay: valid against Kubernetes {{kubernetes_versions}} (strict), pinned, scaled by its autoscaler"
    done
    # checkov recognises only files named Dockerfile. Exceptions are declared, with their reason, where they apply.
    cp Containerfile "$workdir/Dockerfile"
    {{deploy_tools}} checkov --quiet --compact --skip-download --framework kubernetes dockerfile --directory "$workdir"
    promtool check config ci/deploy/prometheus/prometheus.yml
    promtool test rules ci/deploy/prometheus/alerts_test.yml
    {{run}} python ci/dashboard_check.py ci/deploy/grafana/dashboards/*.json
    {{run}} check-jsonschema --builtin-schema vendor.compose-spec ci/deploy/compose.yaml
    # nginx.conf as Compose runs it, with the replicas' host names (known only inside Compose) made local.
    mkdir "$workdir/nginx"
    ln -s "$PWD/ci/deploy/nginx/nginx.conf" "$PWD/ci/deploy/nginx/listen.conf" "$workdir/nginx/"
    sed 's/replica-[0-9]*:/127.0.0.1:/' ci/deploy/nginx/replicas.conf > "$workdir/nginx/replicas.conf"
    nginx -t -q -c "$workdir/nginx/nginx.conf" -g "pid $workdir/nginx/nginx.pid;"
    echo "ci/deploy/nginx/nginx.conf: valid"

# Install the templates from ci/ into .github/ of this checkout: the workflows, and Renovate's configuration
ci-install:
    #!/usr/bin/env bash
    set -euo pipefail
    {{just_executable()}} ci-templates | while read -r template installed; do
        mkdir -p "$(dirname "$installed")"
        cp "$template" "$installed"
        echo "Installed $template as $installed"
    done

# Each template in ci/ and where `just ci-install` installs it, a pair a line
[private]
ci-templates:
    #!/usr/bin/env bash
    set -euo pipefail
    for workflow in ci/*.yml; do echo "$workflow .github/workflows/${workflow#ci/}"; done
    echo "ci/renovate.json .github/renovate.json"

# Tag the built image as sha-COMMIT and any TAGS, push them, and report the digest (GITHUB_OUTPUT too)
push *tags:
    #!/usr/bin/env bash
    set -euo pipefail
    source="{{image_name}}:$({{uv}} version --short)"
    workdir=$(mktemp -d)
    trap 'rm -rf "$workdir"' EXIT
    declare -A pushed=()
    for tag in "sha-$(git rev-parse --short=7 HEAD)" {{tags}}; do
        [ -z "${pushed[$tag]:-}" ] || continue
        pushed[$tag]=1
        {{engine}} tag "$source" "{{image_name}}:$tag"
        if [ "{{engine}}" = podman ]; then
            {{engine}} push --digestfile "$workdir/digest" "{{image_name}}:$tag"
            digest=$(cat "$workdir/digest")
        else
            {{engine}} push "{{image_name}}:$tag"
            digest=$({{engine}} image inspect --format '{{{{index .RepoDigests 0}}}}' "{{image_name}}:$tag")
            digest=${digest#*@}
        fi
        echo "Pushed {{image_name}}:$tag ($digest)"
    done
    if [ -n "${GITHUB_OUTPUT:-}" ]; then
        printf 'image=%s\ndigest=%s\n' "{{image_name}}" "$digest" >> "$GITHUB_OUTPUT"
    fi

# Scan the built image for known vulnerabilities with Trivy; writes trivy.sarif
scan:
    #!/usr/bin/env bash
    set -euo pipefail
    workdir=$(mktemp -d)
    trap 'rm -rf "$workdir"' EXIT
    {{engine}} save --output "$workdir/image.tar" "{{image_name}}:$({{uv}} version --short)"
    {{engine}} run --rm --volume "$workdir:/scan" {{trivy}} image --input /scan/image.tar \
        --scanners vuln --format sarif --output /scan/trivy.sarif
    cp "$workdir/trivy.sarif" trivy.sarif
    echo "Wrote trivy.sarif"

# Write a CycloneDX SBOM of the locked runtime dependencies to sbom.cdx.json (offline)
sbom:
    #!/usr/bin/env bash
    set -euo pipefail
    requirements=$(mktemp)
    trap 'rm -f "$requirements"' EXIT
    {{uv}} export --locked --no-dev --no-emit-project --no-hashes --format requirements-txt --quiet --output-file "$requirements"
    {{run}} cyclonedx-py requirements --output-format JSON --output-file sbom.cdx.json "$requirements"
    echo "Wrote sbom.cdx.json"

# Check the locked runtime dependencies for known vulnerabilities; fails if they cannot be checked
audit:
    #!/usr/bin/env bash
    set -euo pipefail
    requirements=$(mktemp)
    trap 'rm -f "$requirements"' EXIT
    {{uv}} export --locked --no-dev --no-emit-project --format requirements-txt --quiet --output-file "$requirements"
    # --strict: an unreachable vulnerability source is a failure, not "no known vulnerabilities".
    {{run}} pip-audit --strict --disable-pip --requirement "$requirements"

# Print the image tags a release of VERSION built from COMMIT pushes
release-tags version commit:
    @{{run}} python ci/release_tags.py "{{version}}" "{{commit}}"

# Check that a release tag (default: GITHUB_REF_NAME) is v + the version in pyproject.toml
release-check $tag=env("GITHUB_REF_NAME", ""):
    #!/usr/bin/env bash
    set -euo pipefail
    version=$({{uv}} version --short)
    if [ "$tag" != "v$version" ]; then
        echo "The tag '$tag' does not match the project's version: expected v$version (pyproject.toml)" >&2
        exit 1
    fi
    echo "The tag $tag matches the project's version $version"

# Push the image under every tag a release gets (X.Y.Z, X.Y, X, latest, sha-COMMIT)
push-release $tag=env("GITHUB_REF_NAME", ""):
    #!/usr/bin/env bash
    set -euo pipefail
    {{just_executable()}} release-check "$tag"
    mapfile -t tags < <({{run}} python ci/release_tags.py "${tag#v}" "$(git rev-parse HEAD)")
    {{just_executable()}} push "${tags[@]}"

# Publish the GitHub release of a tag: generated notes, the pull command, the SBOM attached
publish-release $tag=env("GITHUB_REF_NAME", ""):
    #!/usr/bin/env bash
    set -euo pipefail
    version="${tag#v}"
    notes=$(mktemp)
    trap 'rm -f "$notes"' EXIT
    printf 'Pull the image:\n\n```sh\ndocker pull %s:%s\n```\n' "{{image_name}}" "$version" > "$notes"
    prerelease=()
    if [[ "$version" == *-* ]]; then prerelease=(--prerelease); fi
    gh release create "$tag" --title "$tag" --verify-tag --generate-notes --notes-file "$notes" "${prerelease[@]}" sbom.cdx.json

# Deploy an image: by DIGEST (pulled from the registry), or the locally built one when none is given
deploy $environment=env("DEPLOY_ENVIRONMENT", "staging") $digest=env("DEPLOY_DIGEST", ""):
    #!/usr/bin/env bash
    set -euo pipefail
    if [ -n "$digest" ]; then
        reference="{{image_name}}@$digest"
        {{engine}} pull --quiet "$reference"
    else
        reference="{{image_name}}:$({{uv}} version --short)"
    fi
    case "$environment" in
        staging)
            # Staging is a container on this machine (the CD runner), on 127.0.0.1:8000.
            {{engine}} rm --force {{staging}} >/dev/null 2>&1 || true
            # shellcheck disable=SC2086 # CONTAINER_RUN_ARGS holds several options
            {{engine}} run --detach --name {{staging}} --read-only --tmpfs /tmp --env ENVIRONMENT=staging \
                --publish 127.0.0.1:8000:8000 ${CONTAINER_RUN_ARGS:-} "$reference" >/dev/null
            for _ in $(seq 100); do
                if PORT=8000 {{run}} python -m app.probe; then
                    echo "Deployed $reference to staging: http://127.0.0.1:8000"
                    exit 0
                fi
                sleep 0.2
            done
            {{engine}} logs {{staging}}
            echo "The staging deployment did not become live" >&2
            exit 1
            ;;
        production)
            # ===== THE REAL PRODUCTION TARGET GOES HERE =====
            # Replace this branch with the rollout to your platform (kubectl set image, a Nomad job,
            # a cloud run service...), deploying "$reference", and set DEPLOY_URL for `just smoke`.
            echo "No production target is configured: edit the production branch of the deploy recipe." >&2
            exit 1
            ;;
        *)
            echo "Unknown environment '$environment': staging or production" >&2
            exit 2
            ;;
    esac

# Remove the staging container that `just deploy staging` started
undeploy:
    @{{engine}} rm --force --time 10 {{staging}}

# Prove two replicas on one PostgreSQL behind nginx, scraped by Prometheus: rolling restart, crash, metrics, traces
replicas: (apt-install "nginx=nginx" "prometheus=prometheus")
    @{{run}} python -m tests.replicas

# Start the whole stack locally (ci/deploy/compose.yaml): two replicas, PostgreSQL, nginx, Prometheus, Grafana
up: image
    #!/usr/bin/env bash
    set -euo pipefail
    if [ "{{compose}}" = podman-compose ]; then {{just_executable()}} apt-install podman-compose=podman-compose; fi
    IMAGE="{{image_name}}" VERSION="$({{uv}} version --short)" {{compose}} --file ci/deploy/compose.yaml up --detach
    echo "The API: http://127.0.0.1:${LB_PORT:-8000} (nginx), Prometheus: http://127.0.0.1:9090, Grafana: http://127.0.0.1:3000"

# Stop the local stack; `just down --volumes` also deletes its data
down *options:
    {{compose}} --file ci/deploy/compose.yaml down {{options}}

# Benchmark the service against plain Litestar and a raw ASGI baseline with wrk (medians of interleaved rounds)
bench *arguments: (apt-install "wrk=wrk")
    @{{run}} python -m tests.bench.bench {{arguments}}
