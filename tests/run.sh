#!/usr/bin/env bash
# The README's test command: install what the tests need when it is missing, then run pytest
# (arguments are passed on). .ci/run calls this script, so CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

# assetmap from this checkout with its [test] extras, unless every requirement is met already.
if ! python3 - 2>/dev/null <<'PY'
import importlib.metadata as md, pathlib, tomllib
from packaging.requirements import Requirement
import assetmap
assert pathlib.Path(assetmap.__file__).parent.parent == pathlib.Path.cwd()
project = tomllib.loads(pathlib.Path("pyproject.toml").read_text())["project"]
for line in project["dependencies"] + project["optional-dependencies"]["test"]:
    requirement = Requirement(line)
    assert requirement.specifier.contains(md.version(requirement.name), prereleases=True)
PY
then
    python3 -m pip install --quiet --disable-pip-version-check -e ".[test]"
fi

# Debian's headless Chromium for the map tests (Playwright drives it; no `playwright install`).
if [ ! -x /usr/bin/chromium ]; then
    if command -v apt-get >/dev/null 2>&1; then
        sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "tests/run.sh: no apt-get here: the map tests will be skipped" >&2
    fi
fi

exec python3 -m pytest "$@"
