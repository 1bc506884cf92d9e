#!/usr/bin/env bash
# The independent OpenAPI tools from PyPI that check docs/openapi.json, in the project's .venv
# (the one scripts/dynamodb-local.sh makes for moto):
#
#   scripts/openapi-tools.sh install            # pinned versions into .venv/ (idempotent)
#   scripts/openapi-tools.sh validate           # openapi-spec-validator docs/openapi.json
#   scripts/openapi-tools.sh schemathesis URL   # schemathesis against a running stack at URL
#
# Installed on first use, never skipped: `make test` runs tests/tests/openapi.rs, which calls this.
set -euo pipefail

# Pinned: a new release may add checks or change its command line.
readonly SCHEMATHESIS_VERSION="4.32.5"
readonly SPEC_VALIDATOR_VERSION="0.9.0"

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly REPO_ROOT
readonly VENV_DIR="${REPO_ROOT}/.venv"
readonly DOCUMENT="${REPO_ROOT}/docs/openapi.json"
readonly LOCK_FILE="${REPO_ROOT}/.run/openapi-tools.lock"

die() {
    echo "openapi-tools: $*" >&2
    exit 1
}

version_of() {
    "${VENV_DIR}/bin/python" -c "import importlib.metadata as m; print(m.version('$1'))" 2>/dev/null
}

do_install() {
    mkdir -p "$(dirname "${LOCK_FILE}")"
    exec 9>"${LOCK_FILE}"
    flock 9
    if [[ "$(version_of schemathesis || true)" == "${SCHEMATHESIS_VERSION}" &&
        "$(version_of openapi-spec-validator || true)" == "${SPEC_VALIDATOR_VERSION}" ]]; then
        return 0
    fi
    # The venv, and moto in it, as the DynamoDB script makes them.
    "${REPO_ROOT}/scripts/dynamodb-local.sh" install
    echo "openapi-tools: installing schemathesis==${SCHEMATHESIS_VERSION}" \
        "openapi-spec-validator==${SPEC_VALIDATOR_VERSION} into ${VENV_DIR}" >&2
    "${VENV_DIR}/bin/python" -m pip install --quiet --disable-pip-version-check \
        "schemathesis==${SCHEMATHESIS_VERSION}" \
        "openapi-spec-validator==${SPEC_VALIDATOR_VERSION}" >&2
    [[ "$(version_of schemathesis || true)" == "${SCHEMATHESIS_VERSION}" ]] ||
        die "schemathesis ${SCHEMATHESIS_VERSION} did not install into ${VENV_DIR}"
    exec 9>&-
}

do_validate() {
    do_install
    "${VENV_DIR}/bin/openapi-spec-validator" "${DOCUMENT}"
}

# Bounded and repeatable: a fixed seed, a fixed number of examples per operation, and the
# checks that matter for a contract: no 5xx, only documented status codes, content types,
# headers and bodies as the document says.
do_schemathesis() {
    [[ $# -eq 1 ]] || die "schemathesis needs the stack's URL"
    do_install
    # Its crash cache (.schemathesis/) goes to the git-ignored run directory, not the caller's.
    mkdir -p "${REPO_ROOT}/.run/schemathesis"
    cd "${REPO_ROOT}/.run/schemathesis"
    "${VENV_DIR}/bin/schemathesis" run "${DOCUMENT}" \
        --url "$1" \
        --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
        --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-20}" \
        --seed 20261201 \
        --generation-database none \
        --workers 1 \
        --request-timeout 20 \
        --no-color
}

main() {
    [[ $# -ge 1 ]] || die "usage: openapi-tools.sh install | validate | schemathesis URL"
    local command="$1"
    shift
    case "${command}" in
        install) do_install ;;
        validate) do_validate ;;
        schemathesis) do_schemathesis "$@" ;;
        *) die "unknown command ${command}" ;;
    esac
}

main "$@"
