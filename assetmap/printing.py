"""Printing a local HTML page to PDF with headless Chromium, offline and reproducibly.

The page sets its paper (``@page { size: A4 }``) and page breaks in CSS. Chromium runs
with a throwaway profile, no background networking and no host name lookups, so printing
sends nothing anywhere. Chromium stamps the print time into the PDF; :func:`print_pdf`
sets those dates to 1970-01-01 (same length, so the file stays valid), so the same page
prints to the same bytes.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from .errors import AssetmapError
from .outputs import atomic_path

#: Programs tried on ``PATH``, then Debian's Chromium where ``PATH`` misses it.
_PROGRAMS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_DEBIAN = "/usr/bin/chromium"
_MISSING = "--pdf needs Chromium: install it (apt-get install chromium) or set ASSETMAP_CHROMIUM"
#: Printing only: no first-run work, sync, updates, extensions or name lookups.
_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
          "--no-pdf-header-footer", "--no-first-run", "--no-default-browser-check",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--disable-default-apps", "--disable-extensions", "--disable-domain-reliability",
          "--disable-client-side-phishing-detection", "--host-resolver-rules=MAP * ~NOTFOUND")
#: Chromium's (Skia's) stamp of the print time, ``D:YYYYMMDDHHmmSS+HH'mm'``.
_PDF_DATE = re.compile(rb"(/(?:CreationDate|ModDate) \()D:\d{14}[+-]\d\d'\d\d'\)")
#: A page object (``/Type /Pages`` is the page tree).
_PAGE = re.compile(rb"/Type\s*/Page(?![A-Za-z0-9])")


def find_chromium() -> Path | None:
    """The Chromium to print with: ``ASSETMAP_CHROMIUM`` when set (a path or a program
    name; None if it names none), else the first of :data:`_PROGRAMS` on ``PATH``, else
    ``/usr/bin/chromium`` if it exists."""
    chosen = os.environ.get("ASSETMAP_CHROMIUM")
    if chosen:
        found = shutil.which(chosen)
        return Path(found) if found else None
    found = next(filter(None, map(shutil.which, _PROGRAMS)), None) or shutil.which(_DEBIAN)
    return Path(found) if found else None


def print_pdf(html: str | Path, pdf: str | Path, *, timeout: float = 120) -> Path:
    """Print the local HTML file ``html`` to ``pdf`` (replaced whole, or left as it was on
    failure) with headless Chromium; paper size and breaks come from the page's CSS."""
    html, pdf = Path(html).resolve(), Path(pdf)
    if not html.is_file():
        raise AssetmapError("no such HTML file to print", file=html)
    chromium = find_chromium()
    if chromium is None:
        chosen = os.environ.get("ASSETMAP_CHROMIUM")
        raise AssetmapError(f"ASSETMAP_CHROMIUM={chosen!r} is no program; {_MISSING}"
                            if chosen else _MISSING)
    with tempfile.TemporaryDirectory(prefix="assetmap-print-") as folder:
        printed = Path(folder) / "page.pdf"
        _run([str(chromium), *_FLAGS, f"--user-data-dir={Path(folder) / 'profile'}",
              f"--print-to-pdf={printed}", html.as_uri()], timeout=timeout)
        if not printed.is_file() or printed.stat().st_size == 0:
            raise AssetmapError("Chromium wrote no PDF", file=html)
        with atomic_path(pdf) as temp:
            temp.write_bytes(_PDF_DATE.sub(rb"\1D:19700101000000+00'00')",
                                           printed.read_bytes()))
    return pdf


def pdf_pages(path: str | Path) -> int:
    """The number of pages of a PDF as Chromium writes them (page objects not packed in
    object streams; ``pypdf`` is not a dependency)."""
    return len(_PAGE.findall(Path(path).read_bytes()))


def _run(args: list[str], *, timeout: float) -> None:
    """Run Chromium, its helper processes killed with it on a timeout; one line on failure."""
    with subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, start_new_session=True) as process:
        try:
            _, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise AssetmapError(f"Chromium took over {timeout:g} s to print; "
                                "gave up") from None
    if process.returncode != 0:
        lines = err.decode("utf-8", "replace").strip().splitlines()
        raise AssetmapError(f"Chromium failed (exit {process.returncode})"
                            + (f": {lines[-1].strip()}" if lines else ""))
