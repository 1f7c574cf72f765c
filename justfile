# The single command surface: developers, .ci/run and the workflows in ci/ all call these recipes. A recipe that
# needs more than a few lines runs a script beside what it serves (ci/scripts/, checked by shellcheck in `just lint`),
# which reads the settings below from the environment.
set shell := ["bash", "-euo", "pipefail", "-c"]

# uv sets UV to its own path inside `uv run`, so recipes work when uv itself is not on PATH.
export UV := env("UV", "uv")
export RUN := UV + " run --locked"
run := RUN
# Keep Python's bytecode cache where PYTHONDONTWRITEBYTECODE is set (CI, containers): else starts take twice as long.
export PYTHONDONTWRITEBYTECODE := ""
# Debian installs nginx in /usr/sbin, which is not on a normal user's PATH.
export PATH := env("PATH") + ":/usr/sbin:/sbin"
export JUST := just_executable()
# Container images: podman or docker, whichever is installed (CONTAINER_ENGINE overrides).
export ENGINE := env("CONTAINER_ENGINE", `command -v podman >/dev/null 2>&1 && echo podman || echo docker`)
# The service's name: pyproject.toml's [project] name, its one source (`just rename` changes it).
export SERVICE := shell("sed -n 's/^name = \"\\(.*\\)\"$/\\1/p' \"$1\"", justfile_directory() / "pyproject.toml")
# Registries want lower case; GitHub's owner/repository names may not be.
export IMAGE_NAME := lowercase(env("IMAGE", "ghcr.io/example-org/" + SERVICE))
# The Containerfile's default base, defined there only (where Renovate keeps it current).
export DEFAULT_BASE := shell("sed -n 's/^ARG BASE_IMAGE=//p' \"$1\"", justfile_directory() / "Containerfile")
export LOCAL_BASE := "localhost/python-base:3.11-bookworm"
export CA_BUNDLE_FILE := env("CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
export TRIVY := "docker.io/aquasec/trivy:0.69.3@sha256:bcc376de8d77cfe086a917230e818dc9f8528e3c852f7b1aff648949b6258d1c"
export STAGING := SERVICE + "-staging"
# kubectl, kubernetes-validate and checkov bring pydantic, which the tests' environment must not have: an environment
# of their own (a lasting one, where Python keeps checkov's compiled modules: 4 s to start, not 12).
export DEPLOY_TOOLS := "env -u VIRTUAL_ENV UV_PROJECT_ENVIRONMENT=.venv-deploy " + RUN + " --only-group deploy-tools"
# The Kubernetes versions the manifests are validated against: the oldest supported, and the newest known.
export KUBERNETES_VERSIONS := "1.32.0 1.37.0"
compose := env("COMPOSE", if ENGINE =~ "podman" { "podman-compose" } else { ENGINE + " compose" })

# List the recipes
default:
    @{{JUST}} --list --unsorted

# Install the locked environment (runtime and dev tools) into .venv
sync:
    @{{UV}} sync --locked

# Rename the service everywhere (a distribution and DNS name: orders-service); prints what it changed
rename new_name:
    @{{run}} python ci/rename.py "{{new_name}}"

# Take the model's release TAG (after `git fetch model --tags`), keeping this service's name and changes
update tag:
    @{{run}} python ci/update.py "{{tag}}"

# Apply pending schema migrations to DATABASE_URL, then exit (what Kubernetes' init container runs)
migrate:
    @{{run}} python -m app migrate

# Run the service as in production: JSON logs, HOST:PORT and every variable in the README honoured
[no-exit-message]
run:
    @bash ci/scripts/run.sh

# Print a 15-minute access token for SCOPES, signed by this checkout's development key (made on first use)
token *scopes:
    @{{run}} python ci/dev_token.py {{scopes}}

# Run the service as `just run` does, trusting only the development key of `just token`
[no-exit-message]
run-dev-auth:
    @eval "$({{run}} python ci/dev_token.py --environment)" && exec bash ci/scripts/run.sh

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

# Lint and check formatting (ruff), the Containerfile (hadolint) and the scripts (shellcheck)
lint:
    {{run}} ruff check .
    {{run}} ruff format --check .
    {{run}} hadolint Containerfile
    {{run}} shellcheck --external-sources ci/scripts/*.sh

# Type-check in pyright's strict mode
typecheck:
    @nice {{run}} pyright

# Run the tests with branch coverage of app/ (100% required), in 3 processes; arguments go to pytest (-n 0: one)
test *pytest_args: browser
    {{run}} coverage erase
    {{run}} coverage run -m pytest --numprocesses 3 --dist worksteal {{pytest_args}}
    {{run}} coverage combine --quiet
    {{run}} coverage xml --quiet --fail-under=0
    {{run}} coverage report

# Install what is missing from Debian's or Ubuntu's packages, through sudo where not root: each NEED is PROGRAM=PACKAGE
[private]
apt-install +needs:
    @bash ci/scripts/apt-install.sh {{needs}}

# Install Chromium for the docs page's browser test, where it is missing and Debian's apt-get can (as root)
browser:
    @bash ci/scripts/browser.sh

# Everything a change must pass before it is pushed, side by side; the linters, under nice, take what CPU tests leave
[parallel]
check: test lint lint-ci lint-deploy typecheck

# Build the image, tagged IMAGE:VERSION and IMAGE:sha-COMMIT; extra arguments go to the build
image *build_args:
    @bash ci/scripts/image.sh {{build_args}}

# Build a local Python base image from Debian's packages, for machines without a container registry
base-image tag=LOCAL_BASE: (apt-install "mmdebstrap=mmdebstrap")
    @bash ci/scripts/base-image.sh "{{tag}}"

# Smoke-test a running instance over HTTP (health, an item's life, calculate, a 4xx)
smoke $url=env("DEPLOY_URL", "http://127.0.0.1:8000"):
    @{{run}} python ci/smoke.py "$url"

# Build the image and prove it by running it (read-only root, health, smoke, uid, restart, SIGTERM)
image-test:
    @bash ci/scripts/image-test.sh

# Fuzz the API from its own OpenAPI document (schemathesis, every check), open and checking tokens
fuzz examples="300":
    @bash ci/scripts/fuzz.sh {{examples}}

# Audit the templates in ci/ offline: zizmor (every severity), the workflow and Renovate schemas, the hooks, drift
lint-ci:
    @nice bash ci/scripts/lint-ci.sh

# Validate the deployment files (ci/deploy/) offline: Kubernetes schemas, checkov, promtool, dashboard, Compose, nginx
lint-deploy: (apt-install "promtool=prometheus" "nginx=nginx")
    @nice bash ci/scripts/lint-deploy.sh

# Install the templates from ci/ into .github/ of this checkout: the workflows, and Renovate's configuration
ci-install:
    @{{JUST}} ci-templates | while read -r template installed; do \
        mkdir -p "$(dirname "$installed")" && cp "$template" "$installed" && echo "Installed $template as $installed"; \
    done

# Each template in ci/ and where `just ci-install` installs it, a pair a line
[private]
ci-templates:
    @for workflow in ci/*.yml; do echo "$workflow .github/workflows/${workflow#ci/}"; done
    @echo "ci/renovate.json .github/renovate.json"

# Tag the built image as sha-COMMIT and any TAGS, push them, and report the digest (GITHUB_OUTPUT too)
push *tags:
    @bash ci/scripts/push.sh {{tags}}

# Scan the built image for known vulnerabilities with Trivy; writes trivy.sarif
scan:
    @bash ci/scripts/scan.sh

# Write a CycloneDX SBOM of the locked runtime dependencies to sbom.cdx.json (offline once its tool is in .venv-sbom)
sbom:
    @bash ci/scripts/requirements.sh sbom

# Check the locked runtime dependencies for known vulnerabilities; fails if they cannot be checked
audit:
    @bash ci/scripts/requirements.sh audit

# Print the image tags a release of VERSION built from COMMIT pushes
release-tags version commit:
    @{{run}} python ci/release_tags.py "{{version}}" "{{commit}}"

# Check that a release tag (default: GITHUB_REF_NAME) is v + the version in pyproject.toml
release-check $tag=env("GITHUB_REF_NAME", ""):
    @bash ci/scripts/release-check.sh "$tag"

# Push the image under every tag a release gets (X.Y.Z, X.Y, X, latest, sha-COMMIT)
push-release $tag=env("GITHUB_REF_NAME", ""):
    @{{JUST}} release-check "$tag"
    @mapfile -t tags < <({{run}} python ci/release_tags.py "${tag#v}" "$(git rev-parse HEAD)") && {{JUST}} push "${tags[@]}"

# Publish the GitHub release of a tag: generated notes, the pull command, the SBOM attached
publish-release $tag=env("GITHUB_REF_NAME", ""):
    @bash ci/scripts/publish-release.sh "$tag"

# Deploy an image: by DIGEST (pulled from the registry), or the locally built one when none is given
deploy $environment=env("DEPLOY_ENVIRONMENT", "staging") $digest=env("DEPLOY_DIGEST", ""):
    @bash ci/scripts/deploy.sh "$environment" "$digest"

# Remove the staging container that `just deploy staging` started
undeploy:
    @{{ENGINE}} rm --force --time 10 {{STAGING}}

# Prove two replicas on one PostgreSQL behind nginx, scraped by Prometheus: rolling restart, crash, metrics, traces
replicas: (apt-install "nginx=nginx" "prometheus=prometheus")
    @{{run}} python -m tests.replicas

# Start the whole stack locally (ci/deploy/compose.yaml): two replicas, PostgreSQL, nginx, Prometheus, Grafana
up: image
    @if [ "{{compose}}" = podman-compose ]; then {{JUST}} apt-install podman-compose=podman-compose; fi
    @IMAGE="{{IMAGE_NAME}}" VERSION="$({{UV}} version --short)" {{compose}} --file ci/deploy/compose.yaml up --detach
    @echo "API: http://127.0.0.1:${LB_PORT:-8000} (nginx), Prometheus: http://127.0.0.1:9090, Grafana: http://127.0.0.1:3000"

# Stop the local stack; `just down --volumes` also deletes its data
down *options:
    {{compose}} --file ci/deploy/compose.yaml down {{options}}

# Benchmark the service against plain Litestar and a raw ASGI baseline with wrk (medians of interleaved rounds)
bench *arguments: (apt-install "wrk=wrk")
    @{{run}} python -m tests.bench.bench {{arguments}}
