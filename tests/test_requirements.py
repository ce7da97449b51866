"""Tests needing the data bundle or the browser skip when it is missing, and fail on CI."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from assetmap.settings import cache_dir

CONFTEST = Path(__file__).with_name("conftest.py")
PYPROJECT = Path(__file__).parent.parent / "pyproject.toml"  # the markers, --strict-markers
TESTS = '''
import pytest

@pytest.fixture
def browser():
    return "chromium"

@pytest.mark.data
def test_marked_by_hand():
    pass

def test_marked_by_its_fixture(data):
    pass

def test_needs_the_browser(browser):
    pass

def test_needs_nothing():
    pass
'''


def run_pytest(folder: Path, **env: str) -> subprocess.CompletedProcess:
    """pytest on the tests above, with this conftest, no data bundle and no chromium."""
    (folder / "conftest.py").write_text(
        CONFTEST.read_text() + '\nCHROMIUM = Path("/nowhere/chromium")\n')
    (folder / "test_tiny.py").write_text(TESTS)
    (folder / "pyproject.toml").write_text(PYPROJECT.read_text())
    environ = {k: v for k, v in os.environ.items() if k != "CI"}
    environ.update(ASSETMAP_DATA_DIR=str(folder / "nowhere"), **env)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", folder],
        cwd=folder, env=environ, capture_output=True, text=True)


def test_missing_data_or_browser_skips_locally(tmp_path):
    result = run_pytest(tmp_path)
    assert result.returncode == 0, result.stdout
    assert "1 passed, 3 skipped" in result.stdout
    assert "SKIPPED [2]" in result.stdout and "open-data bundle not found" in result.stdout
    assert "/nowhere/chromium not found" in result.stdout


def test_missing_data_or_browser_fails_on_ci(tmp_path):
    result = run_pytest(tmp_path, CI="true")
    assert result.returncode == 1, result.stdout
    assert "1 passed, 3 errors" in result.stdout
    errors = re.findall(r"^ERROR test_tiny.py::(\w+) - Failed: (.*)$", result.stdout, re.M)
    assert {test for test, _ in errors} == {
        "test_marked_by_hand", "test_marked_by_its_fixture", "test_needs_the_browser"}
    assert all(reason.endswith("(required on CI)") for _, reason in errors)


def test_postcode_cache_is_a_temporary_folder(tmp_path_factory):
    assert cache_dir().is_relative_to(tmp_path_factory.getbasetemp())
    assert not cache_dir().is_relative_to(Path.home())
