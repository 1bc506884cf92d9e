#!/usr/bin/env bash
# A real, local DynamoDB-compatible server (moto) on loopback, for tests and local runs.
#
#   scripts/dynamodb-local.sh install                      # moto[server] into .venv/ (idempotent)
#   scripts/dynamodb-local.sh start [--port N|--free-port] # prints http://127.0.0.1:PORT last
#   scripts/dynamodb-local.sh stop | endpoint | status
#
# moto comes from PyPI at install time only; nothing else is downloaded. State (pid, port, log)
# lives under .run/dynamodb-local/, so `stop` only ever stops the server this script started.
set -euo pipefail

# Pinned: the tests rely on moto's ReturnValuesOnConditionCheckFailure and GSI behaviour.
readonly MOTO_VERSION="5.2.5"
# The tests verify every webhook delivery with this independent Standard Webhooks implementation
# (tests/tests/events.rs); pinned like moto.
readonly STANDARDWEBHOOKS_VERSION="1.1.0"
readonly DEFAULT_PORT=8000
readonly START_TIMEOUT_SECONDS=60

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly REPO_ROOT
readonly VENV_DIR="${REPO_ROOT}/.venv"
readonly RUN_DIR="${REPO_ROOT}/.run/dynamodb-local"
readonly PID_FILE="${RUN_DIR}/pid"
readonly PORT_FILE="${RUN_DIR}/port"
readonly LOG_FILE="${RUN_DIR}/moto.log"
readonly LOCK_FILE="${RUN_DIR}/lock"

usage() {
    cat >&2 <<'EOF'
usage: dynamodb-local.sh install
       dynamodb-local.sh start [--port N | --free-port]
       dynamodb-local.sh stop | endpoint | status
EOF
}

die() {
    echo "dynamodb-local: $*" >&2
    exit 1
}

# Serialises install/start/stop across concurrent callers (e.g. parallel test processes).
take_lock() {
    mkdir -p "${RUN_DIR}"
    exec 9>"${LOCK_FILE}"
    flock 9
}

installed_version() {
    [[ -x "${VENV_DIR}/bin/python" && -x "${VENV_DIR}/bin/moto_server" ]] || return 1
    "${VENV_DIR}/bin/python" -c 'import importlib.metadata as m; print(m.version("moto"))' 2>/dev/null
}

standardwebhooks_version() {
    [[ -x "${VENV_DIR}/bin/python" ]] || return 1
    "${VENV_DIR}/bin/python" -c 'import importlib.metadata as m; print(m.version("standardwebhooks"))' 2>/dev/null
}

do_install() {
    if [[ "$(installed_version || true)" == "${MOTO_VERSION}" &&
        "$(standardwebhooks_version || true)" == "${STANDARDWEBHOOKS_VERSION}" ]]; then
        return 0
    fi
    command -v python3 >/dev/null || die "python3 is required to install moto"
    echo "dynamodb-local: installing moto[server]==${MOTO_VERSION} into ${VENV_DIR}" >&2
    if [[ ! -x "${VENV_DIR}/bin/python" ]]; then
        python3 -m venv "${VENV_DIR}"
    fi
    "${VENV_DIR}/bin/python" -m pip install --quiet --disable-pip-version-check \
        "moto[server]==${MOTO_VERSION}" "standardwebhooks==${STANDARDWEBHOOKS_VERSION}" >&2
    [[ "$(installed_version || true)" == "${MOTO_VERSION}" ]] ||
        die "moto ${MOTO_VERSION} did not install into ${VENV_DIR}"
    [[ "$(standardwebhooks_version || true)" == "${STANDARDWEBHOOKS_VERSION}" ]] ||
        die "standardwebhooks ${STANDARDWEBHOOKS_VERSION} did not install into ${VENV_DIR}"
}

# True if PID is alive and is a moto server (guards against a recycled pid).
is_moto_pid() {
    local pid="$1"
    [[ "${pid}" =~ ^[0-9]+$ ]] || return 1
    kill -0 "${pid}" 2>/dev/null || return 1
    local stat args
    stat="$(ps -p "${pid}" -o stat= 2>/dev/null || true)"
    [[ -n "${stat}" && "${stat}" != Z* ]] || return 1 # a zombie is not a server
    args="$(ps -p "${pid}" -o args= 2>/dev/null || true)"
    [[ "${args}" == *moto_server* ]]
}

recorded_pid() {
    [[ -f "${PID_FILE}" ]] && cat "${PID_FILE}"
}

recorded_port() {
    [[ -f "${PORT_FILE}" ]] && cat "${PORT_FILE}"
}

endpoint_for() {
    echo "http://127.0.0.1:$1"
}

# True once the server on PORT answers any HTTP request.
answers() {
    "${VENV_DIR}/bin/python" - "$1" <<'EOF' 2>/dev/null
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/moto-api/", timeout=2)
except urllib.error.HTTPError:
    pass  # any HTTP answer means it is serving
except Exception:
    sys.exit(1)
EOF
}

running_port() {
    local pid port
    pid="$(recorded_pid || true)"
    port="$(recorded_port || true)"
    [[ -n "${pid}" && -n "${port}" ]] || return 1
    is_moto_pid "${pid}" || return 1
    echo "${port}"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

do_start() {
    local port="" want_free=false
    while [[ $# -gt 0 ]]; do
        case "$1" in
            --port)
                [[ $# -ge 2 && "$2" =~ ^[0-9]+$ ]] || die "--port needs a number"
                port="$2"
                shift 2
                ;;
            --free-port)
                want_free=true
                shift
                ;;
            *)
                usage
                exit 2
                ;;
        esac
    done
    [[ -n "${port}" && "${want_free}" == true ]] && die "--port and --free-port exclude each other"

    take_lock
    do_install

    local current
    if current="$(running_port)"; then
        if [[ -n "${port}" && "${port}" != "${current}" ]]; then
            die "already running on port ${current} (stop it first to use port ${port})"
        fi
        wait_until_answers "${current}" "$(recorded_pid)"
        endpoint_for "${current}"
        return 0
    fi
    rm -f "${PID_FILE}" "${PORT_FILE}"

    # A free port can be taken between probing and binding: try a few.
    local attempts=1
    [[ "${want_free}" == true ]] && attempts=3
    local try
    for ((try = 1; try <= attempts; try++)); do
        local use_port="${port:-${DEFAULT_PORT}}"
        [[ "${want_free}" == true ]] && use_port="$(free_port)"
        # setsid + closed stdio: the server outlives the caller (a test process) and never holds
        # its pipes open, so the caller's output capture ends when this script does; 9>&- keeps
        # the lock from being inherited (the server would hold it forever).
        setsid "${VENV_DIR}/bin/moto_server" -H 127.0.0.1 -p "${use_port}" \
            </dev/null >"${LOG_FILE}" 2>&1 9>&- &
        local pid=$!
        echo "${pid}" >"${PID_FILE}"
        echo "${use_port}" >"${PORT_FILE}"
        if wait_until_answers "${use_port}" "${pid}"; then
            endpoint_for "${use_port}"
            return 0
        fi
        rm -f "${PID_FILE}" "${PORT_FILE}"
    done
    echo "dynamodb-local: moto did not start; last log lines:" >&2
    tail -n 20 "${LOG_FILE}" >&2 || true
    exit 1
}

# Waits until the server answers; fails early if the process died.
wait_until_answers() {
    local port="$1" pid="$2" waited=0
    while ! answers "${port}"; do
        if ! kill -0 "${pid}" 2>/dev/null; then
            return 1
        fi
        if ((waited >= START_TIMEOUT_SECONDS * 5)); then
            kill "${pid}" 2>/dev/null || true
            return 1
        fi
        sleep 0.2
        waited=$((waited + 1))
    done
}

do_stop() {
    take_lock
    local pid
    pid="$(recorded_pid || true)"
    if [[ -n "${pid}" ]] && is_moto_pid "${pid}"; then
        kill "${pid}"
        local waited=0
        while kill -0 "${pid}" 2>/dev/null && ((waited < 50)); do
            sleep 0.1
            waited=$((waited + 1))
        done
        if kill -0 "${pid}" 2>/dev/null; then
            kill -9 "${pid}" 2>/dev/null || true
        fi
        echo "dynamodb-local: stopped (pid ${pid})" >&2
    else
        echo "dynamodb-local: not running" >&2
    fi
    rm -f "${PID_FILE}" "${PORT_FILE}"
}

do_endpoint() {
    local port
    port="$(running_port)" || exit 1
    endpoint_for "${port}"
}

do_status() {
    local port
    if port="$(running_port)"; then
        echo "running: pid $(recorded_pid), $(endpoint_for "${port}"), moto $(installed_version || echo '?'), log ${LOG_FILE}"
    else
        echo "not running (moto $(installed_version || echo 'not installed'))"
        exit 1
    fi
}

main() {
    [[ $# -ge 1 ]] || {
        usage
        exit 2
    }
    local command="$1"
    shift
    case "${command}" in
        install)
            [[ $# -eq 0 ]] || die "install takes no arguments"
            take_lock
            do_install
            ;;
        start) do_start "$@" ;;
        stop) do_stop ;;
        endpoint) do_endpoint ;;
        status) do_status ;;
        -h | --help | help) usage ;;
        *)
            usage
            exit 2
            ;;
    esac
}

main "$@"
