#!/usr/bin/env bash
# Checks template.yaml as CI does: cfn-lint (no error, no warning) and `sam validate --lint`.
# Installs both from PyPI into the project's git-ignored .venv/ (shared with the other scripts;
# created if missing, never deleted). Idempotent: no install when the pinned versions are there.
# Offline apart from that install: neither check calls AWS; dummy credentials are set so that
# nothing ever looks for real ones.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly CFN_LINT_VERSION="1.58.0"
readonly SAM_CLI_VERSION="1.170.0"
readonly VENV_DIR="${VENV_DIR:-.venv}"

installed() {
  "${VENV_DIR}/bin/python" -c 'import importlib.metadata as m, sys; print(m.version(sys.argv[1]))' "$1" 2>/dev/null || true
}

[ -x "${VENV_DIR}/bin/python" ] || python3 -m venv "${VENV_DIR}"
if [ "$(installed cfn-lint)" != "${CFN_LINT_VERSION}" ] || [ "$(installed aws-sam-cli)" != "${SAM_CLI_VERSION}" ]; then
  echo "check-template: installing cfn-lint==${CFN_LINT_VERSION} aws-sam-cli==${SAM_CLI_VERSION} into ${VENV_DIR}/ (from PyPI)" >&2
  # One resolver run for both, so that they agree on aws-sam-translator.
  "${VENV_DIR}/bin/python" -m pip install --quiet --disable-pip-version-check \
    "cfn-lint==${CFN_LINT_VERSION}" "aws-sam-cli==${SAM_CLI_VERSION}"
fi

export AWS_ACCESS_KEY_ID=check-template AWS_SECRET_ACCESS_KEY=check-template
export AWS_REGION=ap-southeast-1 AWS_DEFAULT_REGION=ap-southeast-1
export AWS_EC2_METADATA_DISABLED=true SAM_CLI_TELEMETRY=0
unset AWS_PROFILE AWS_SESSION_TOKEN

# Exit code 0 only when cfn-lint reports nothing at all (errors 2, warnings 4, informational 8).
echo "check-template: cfn-lint ${CFN_LINT_VERSION}" >&2
"${VENV_DIR}/bin/cfn-lint" --non-zero-exit-code informational -- template.yaml

# `sam validate` runs the SAM transform (catches what the SAM schema alone does not, e.g. an
# authorizer an API cannot have); --lint runs cfn-lint through SAM CLI.
echo "check-template: sam validate and sam validate --lint (aws-sam-cli ${SAM_CLI_VERSION})" >&2
"${VENV_DIR}/bin/sam" validate --region ap-southeast-1 --template-file template.yaml
"${VENV_DIR}/bin/sam" validate --lint --region ap-southeast-1 --template-file template.yaml

# cfn-lint 1.x checks SAM resources against SAM's schema without transforming them, so a
# circular dependency or a bad property in the generated resources would pass. Transform
# locally (what `sam deploy` sends CloudFormation, with a stand-in code location) and lint that.
transformed=$(mktemp -t leanx-template-XXXXXX.json)
trap 'rm -f "$transformed"' EXIT
"${VENV_DIR}/bin/python" - template.yaml "$transformed" <<'PY'
import json, sys
import yaml
from samtranslator.translator.transform import transform

class NoManagedPolicies:  # the template attaches no managed policy
    def load(self):
        return {}

template = yaml.safe_load(open(sys.argv[1]))
template["Globals"]["Function"]["CodeUri"] = "s3://stand-in-bucket/stand-in-key.zip"
with open(sys.argv[2], "w") as out:
    json.dump(transform(template, {}, NoManagedPolicies()), out, indent=1)
PY
echo "check-template: cfn-lint on the transformed template" >&2
"${VENV_DIR}/bin/cfn-lint" --non-zero-exit-code informational -- "$transformed"

echo "check-template: template.yaml passes cfn-lint (as written and transformed) and sam validate" >&2
