"""HTML printed to PDF by headless Chromium: page breaks, A4, the same bytes, one-line errors."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from assetmap.errors import AssetmapError
from assetmap.printing import find_chromium, pdf_pages, print_pdf

PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><style>
@page { size: A4; margin: 15mm }
section { break-before: page }
</style></head><body>
<section><h1>Ward profile: Bowling &amp; Barkerend</h1><p>Résumé</p></section>
<section><h1>Constituency profile</h1></section>
<section><h1>Method</h1></section>
</body></html>"""


@pytest.fixture(scope="module")
def browser() -> Path:
    """The Chromium that prints (the fixture's name marks its users ``browser``)."""
    chromium = find_chromium()
    assert chromium is not None, "Chromium is needed: apt-get install chromium"
    return chromium


@pytest.fixture()
def html(tmp_path) -> Path:
    path = tmp_path / "report.html"
    path.write_text(PAGE, encoding="utf-8")
    return path


def fake_chromium(folder: Path, body: str) -> Path:
    """A program standing in for Chromium: a shell script running ``body``."""
    program = folder / "fake-chromium"
    program.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    program.chmod(0o755)
    return program


def test_three_sections_breaking_before_each_print_three_a4_pages(browser, html, tmp_path):
    pdf = print_pdf(html, tmp_path / "report.pdf")
    assert pdf == tmp_path / "report.pdf" and pdf.read_bytes().startswith(b"%PDF-")
    assert pdf_pages(pdf) == 3
    boxes = re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf.read_bytes())
    assert len(boxes) == 3
    assert all(abs(float(w) - 595.28) < 1 and abs(float(h) - 841.89) < 1 for w, h in boxes)


def test_the_same_page_prints_to_the_same_bytes(browser, html, tmp_path):
    first = print_pdf(html, tmp_path / "first.pdf").read_bytes()
    time.sleep(1.1)  # Chromium stamps the time in seconds
    second = print_pdf(html, tmp_path / "second.pdf").read_bytes()
    assert first == second
    assert re.findall(rb"/(?:CreationDate|ModDate) \((D:[^)]*)\)", first) == [
        b"D:19700101000000+00'00'"] * 2


def test_file_names_with_spaces_and_url_characters_print(browser, tmp_path):
    folder = tmp_path / "Planning pack #1 (draft) 100%"
    folder.mkdir()
    html = folder / "ward profiles é & co.html"
    html.write_text(PAGE, encoding="utf-8")
    pdf = print_pdf(str(html), str(folder / "out put" / "ward profiles é.pdf"))
    assert pdf.is_file() and pdf_pages(pdf) == 3


def test_missing_chromium_is_a_one_line_error(html, tmp_path, monkeypatch):
    monkeypatch.setenv("ASSETMAP_CHROMIUM", str(tmp_path / "no-chromium"))
    monkeypatch.setenv("PATH", "")
    assert find_chromium() is None
    with pytest.raises(AssetmapError, match=r"--pdf needs Chromium: install it "
                       r"\(apt-get install chromium\) or set ASSETMAP_CHROMIUM") as error:
        print_pdf(html, tmp_path / "report.pdf")
    assert "\n" not in str(error.value) and not (tmp_path / "report.pdf").exists()


def test_chromium_named_by_the_environment_wins(tmp_path, monkeypatch):
    program = fake_chromium(tmp_path, "exit 0")
    monkeypatch.setenv("ASSETMAP_CHROMIUM", str(program))
    assert find_chromium() == program


def test_a_failing_chromium_is_one_line_with_its_last_error_and_keeps_the_old_pdf(
        html, tmp_path, monkeypatch):
    program = fake_chromium(tmp_path, "echo noise >&2\necho 'cannot open display' >&2\nexit 3")
    monkeypatch.setenv("ASSETMAP_CHROMIUM", str(program))
    (tmp_path / "report.pdf").write_bytes(b"old")
    with pytest.raises(AssetmapError, match=r"^Chromium failed \(exit 3\): cannot open "
                       r"display$"):
        print_pdf(html, tmp_path / "report.pdf")
    assert (tmp_path / "report.pdf").read_bytes() == b"old"


def test_a_chromium_that_hangs_is_stopped_at_the_timeout(html, tmp_path, monkeypatch):
    monkeypatch.setenv("ASSETMAP_CHROMIUM", str(fake_chromium(tmp_path, "sleep 60")))
    start = time.monotonic()
    with pytest.raises(AssetmapError, match=r"Chromium took over 1 s to print"):
        print_pdf(html, tmp_path / "report.pdf", timeout=1)
    assert time.monotonic() - start < 10  # the sleeping child was killed with it


def test_a_chromium_that_writes_nothing_is_an_error(html, tmp_path, monkeypatch):
    monkeypatch.setenv("ASSETMAP_CHROMIUM", str(fake_chromium(tmp_path, "exit 0")))
    with pytest.raises(AssetmapError, match="Chromium wrote no PDF"):
        print_pdf(html, tmp_path / "report.pdf")


def test_a_missing_html_file_is_an_error(tmp_path):
    with pytest.raises(AssetmapError, match="no such HTML file to print"):
        print_pdf(tmp_path / "nothing.html", tmp_path / "report.pdf")
