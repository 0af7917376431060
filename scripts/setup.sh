#!/usr/bin/env bash
# Set up the course on a fresh machine: a virtual environment in .venv with the package,
# its dependencies and the test tools. Safe to run again: it reinstalls only when
# pyproject.toml changed since the last successful install.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "error: azml-course needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" >&2
    exit 2
fi

# bubblewrap confines the learners' code during grading; Chromium renders the feedback
# pages in the browser tests. Both come from the system's packages.
missing=()
command -v bwrap >/dev/null || missing+=(bubblewrap)
command -v chromium >/dev/null || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing ${missing[*]} with apt-get"
        apt-get install -y -qq "${missing[@]}" >/dev/null \
            || { apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; } \
            || { echo "error: apt-get could not install ${missing[*]}; install them and rerun" >&2; exit 1; }
    else
        echo "warning: ${missing[*]} not found; install them (Debian: apt-get install ${missing[*]}) to grade in a sandbox and run the browser tests" >&2
    fi
fi

if [ ! -x .venv/bin/python ]; then
    echo "creating the virtual environment in .venv"
    "$python" -m venv .venv
fi

stamp=.venv/.azml-course-installed
wanted=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    # The pip that ships with Python 3.11 fails to resolve azure-ai-ml together with
    # nbgrader; pip 26 resolves the whole set.
    echo "installing azml-course and its dependencies into .venv (about 2 minutes the first time)"
    .venv/bin/python -m pip install --quiet --upgrade 'pip>=26' 2>&1 | grep -v 'is ignored' || true
    .venv/bin/python -m pip install --quiet -e '.[dev]' 2>&1 | grep -v 'is ignored' || true
    .venv/bin/python -c 'import autograder, azure.ai.ml, nbgrader, pytest' \
        || { echo "error: the install into .venv failed; rerun with: .venv/bin/python -m pip install -e '.[dev]'" >&2; exit 1; }
    echo "$wanted" > "$stamp"
fi
