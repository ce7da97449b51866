"""Open Referral UK registers: one row per service at a location, read from ORUK JSON.

Shapes read: ORUK 1 (``service_at_locations[].location`` with ``latitude``, ``longitude``
and ``physical_addresses[]``), HSDS 3 / ORUK 3 (``service_at_locations[].location`` with
``addresses[]``; or a list of services at locations, each with its ``service`` and
``location``), and the "partial" shape some platforms publish (``locations[]`` on the
service, address fields flattened, a GeoJSON ``geometry`` Point in ``[lon, lat]``). A source
is a file, a folder of API page dumps, or an endpoint URL followed page by page; pages are
lists, or objects holding ``content``/``contents``/``items`` with their page numbers.

Nothing is dropped here: a service with no location (online-only) is one row with no
coordinates, a virtual location a row with its coordinates left out, and a service at a
location listed again on another page a row with the same ID, so that
:func:`assetmap.locate` rejects each with its reason and the audit accounts for every
record. The ``note`` column says what is odd about a row's location.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import pandas as pd

from .errors import AssetmapError, first_line
from .registers import Register, detect_roles

#: The register's columns, in order (``name`` before ``organisation``: both name names).
COLUMNS = ["id", "name", "type", "age_range", "schedule", "location", "address", "postcode",
           "latitude", "longitude", "note", "organisation", "url", "email", "phone", "status",
           "service_id", "location_id", "page"]
#: Keys of a page object that hold its services (or services at locations).
_ITEM_KEYS = ("content", "contents", "items", "data", "results", "services")
#: An endpoint is followed for at most this many pages, each at most this many bytes.
MAX_PAGES = 500
MAX_PAGE_BYTES = 64 * 2**20
#: Seconds to wait for each page.
TIMEOUT_S = 30.0
#: A postcode district alone (the address masked): ``BD3``, ``LS12``.
_DISTRICT = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")
_GEOJSON_TYPES = {"Feature", "FeatureCollection", "Point", "MultiPoint", "Polygon",
                  "MultiPolygon", "LineString", "MultiLineString", "GeometryCollection"}


def is_url(source) -> bool:
    """Whether ``source`` is an ``http(s)://`` address (given as text, not a path)."""
    return isinstance(source, str) and re.match(r"https?://", source, re.IGNORECASE) is not None


def is_oruk(path: str | Path) -> bool:
    """Whether a JSON file holds Open Referral services (not GeoJSON, not something else)."""
    try:
        data = json.loads(Path(path).read_bytes())  # bytes: a byte-order mark is understood
    except (OSError, ValueError):
        return False
    return bool(_services(data))


def read_oruk(source: str | Path, *, roles: dict[str, str] | None = None,
              max_pages: int = MAX_PAGES, timeout: float = TIMEOUT_S) -> Register:
    """Read an Open Referral UK register: a JSON file, a folder of JSON page dumps (read in
    name order, ``page2`` before ``page10``), or an ``http(s)://`` endpoint (followed by its
    ``next`` link or page numbers, at most ``max_pages`` pages, ``timeout`` seconds each).

    One row per service at a location (:data:`COLUMNS`; ``id`` is the service ID and the
    location ID, ``type`` the taxonomy terms joined by ``;``), one per service with none.
    ``roles`` as for :func:`assetmap.read_register`.
    """
    if is_url(source):
        pages, path = fetch_pages(source, max_pages=max_pages, timeout=timeout), Path(source)
    else:
        path = Path(source)
        pages = _folder_pages(path) if path.is_dir() else [("1", _load(path))]
    rows = [row for label, data in pages for row in _page_rows(data, label, source)]
    if not rows:
        raise AssetmapError("holds no Open Referral services", file=source)
    frame = pd.DataFrame(rows, columns=COLUMNS, dtype=object)
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="row")  # record number
    _note_repeats(frame)
    return Register(path, frame, detect_roles(frame.columns, roles, file=path))


def fetch_pages(url: str, *, max_pages: int = MAX_PAGES, timeout: float = TIMEOUT_S
                ) -> list[tuple[str, object]]:
    """Every page of an endpoint as ``(page number, JSON)``: the page's ``next`` link, else
    the ``page`` query parameter counted on until the last page (``last``, ``totalPages``,
    ``total_pages``, or an empty page)."""
    pages: list[tuple[str, object]] = []
    address: str | None = url
    while address is not None:
        if len(pages) == max_pages:
            raise AssetmapError(f"more than {max_pages} pages: stopped rather than read part "
                                "of the register", file=url)
        data = _get(address, url, len(pages) + 1, timeout)
        pages.append((str(len(pages) + 1), data))
        address = _next_page(address, data, len(pages))
    return pages


def _get(address: str, url: str, number: int, timeout: float):
    where = f"page {number} ({address})"
    request = urllib.request.Request(address, headers={"Accept": "application/json",
                                                        "User-Agent": "assetmap"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read(MAX_PAGE_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise AssetmapError(f"{where}: HTTP error {exc.code} {exc.reason}", file=url) from None
    except OSError as exc:  # URLError, a refused connection, a timeout
        raise AssetmapError(f"{where}: cannot fetch ({first_line(exc)})", file=url) from None
    if len(body) > MAX_PAGE_BYTES:
        raise AssetmapError(f"{where}: larger than {MAX_PAGE_BYTES // 2**20} MiB", file=url)
    try:
        return json.loads(body)
    except ValueError as exc:
        raise AssetmapError(f"{where}: not JSON ({first_line(exc)})", file=url) from None


def _next_page(address: str, data, fetched: int) -> str | None:
    """The next page's address, or None after the last page."""
    if not isinstance(data, dict) or not _items(data):
        return None
    links = data.get("links") if isinstance(data.get("links"), dict) else {}
    link = data.get("next") or links.get("next")
    if isinstance(link, str) and link:
        return urljoin(address, link)
    total = data.get("totalPages", data.get("total_pages"))
    if data.get("last") is True or data.get("last_page") is True or not isinstance(total, int) \
            or fetched >= total:
        return None
    parts = urlsplit(address)
    query = dict(parse_qsl(parts.query))
    current = data.get("number", data.get("page_number", data.get("page")))
    if not isinstance(current, int):
        current = int(query["page"]) if query.get("page", "").isdigit() else 1
    query["page"] = str(current + 1)
    return urlunsplit(parts._replace(query=urlencode(query)))


def _folder_pages(folder: Path) -> list[tuple[str, object]]:
    files = sorted(folder.glob("*.json"), key=lambda f: [int(t) if t.isdigit() else t.casefold()
                                                         for t in re.split(r"(\d+)", f.name)])
    if not files:
        raise AssetmapError("is a folder holding no .json pages (Open Referral API page "
                            "dumps), not a register file", file=folder)
    return [(file.name, _load(file)) for file in files]


def _load(file: Path):
    try:
        return json.loads(file.read_bytes())  # bytes: a byte-order mark is understood
    except ValueError as exc:
        raise AssetmapError(f"not JSON ({first_line(exc)})", file=file) from None
    except OSError as exc:
        raise AssetmapError(f"cannot read ({first_line(exc)})", file=file) from None


def _items(data) -> list | None:
    """A page's records: the page itself if a list, the list under one of
    :data:`_ITEM_KEYS`, or a lone service; None if it is none of these."""
    if isinstance(data, list):
        return data
    if not isinstance(data, dict) or data.get("type") in _GEOJSON_TYPES:
        return None
    listed = next((data[k] for k in _ITEM_KEYS if isinstance(data.get(k), list)), None)
    if listed is not None:
        return listed
    return [data] if "id" in data and ("service_at_locations" in data or "locations" in data) \
        else None


def _services(data) -> list[dict] | None:
    """A page's services (services at locations folded into their services), or None."""
    items = _items(data)
    if items is None or not all(isinstance(item, dict) for item in items):
        return None
    services = [_as_service(item) for item in items]
    if items and not any("service_at_locations" in s or "locations" in s for s in services):
        return None
    return services


def _as_service(item: dict) -> dict:
    """A service at a location (``service`` and ``location`` inside) as a service at one."""
    if isinstance(item.get("service"), dict) and isinstance(item.get("location"), dict):
        at = {k: v for k, v in item.items() if k != "service"}
        return {**item["service"], "service_at_locations": [at]}
    return item


def _page_rows(data, label: str, source: str | Path) -> list[list[str]]:
    services = _services(data)
    if services is None:
        raise AssetmapError(f"page {label} is not Open Referral: expected a list of services, "
                            "or a page with content, contents or items", file=source)
    return [row for service in services for row in _service_rows(service, label)]


def _service_rows(service: dict, page: str) -> list[list[str]]:
    """A service's rows: one per location (numbered ``#1``... when it has no ID), or one
    with no location."""
    sid = _text(service.get("id"))
    common = {
        "name": _text(service.get("name")),
        "type": "; ".join(dict.fromkeys(filter(None, map(_text, _terms(service))))),
        "age_range": _age_range(service),
        "organisation": _text(_dict(service.get("organization")).get("name")),
        "url": _text(service.get("url")),
        "email": _text(service.get("email")),
        "phone": _phone(service),
        "status": _text(service.get("status")),
        "service_id": sid,
        "page": page,
    }
    at = [(a, _dict(a.get("location"))) for a in _list(service.get("service_at_locations"))
          if isinstance(a, dict)]
    at += [({}, loc) for loc in _list(service.get("locations")) if isinstance(loc, dict)]
    if not at:
        return [_row({**common, "id": sid, "schedule": _schedule(service),
                      "note": "no location: online-only service, or none given"})]
    ids = [_text(loc.get("id")) or _text(a.get("id")) for a, loc in at]
    return [_row({**common, **_location(loc), "schedule": _schedule(a) or _schedule(service),
                  "id": f"{sid}/{lid or f'#{i}'}", "location_id": lid})
            for i, ((a, loc), lid) in enumerate(zip(at, ids, strict=True), 1)]


def _row(fields: dict[str, str]) -> list[str]:
    return [fields.get(column, "") for column in COLUMNS]


def _location(loc: dict) -> dict[str, str]:
    """A location's name, address, postcode, coordinates and note."""
    addresses = [a for a in _list(loc.get("physical_addresses")) + _list(loc.get("addresses"))
                 if isinstance(a, dict)]
    physical = [a for a in addresses if a.get("address_type", "physical") == "physical"]
    address = (physical or addresses or [loc])[0]
    point = _dict(loc.get("geometry")).get("coordinates")
    lon, lat = point[:2] if isinstance(point, list) and len(point) >= 2 else (None, None)
    fields = {
        "location": _text(loc.get("name")),
        "address": ", ".join(filter(None, (_text(address.get(k)) for k in
                                           ("address_1", "address_2", "city")))),
        "postcode": _text(address.get("postal_code", address.get("postcode"))),
        "latitude": _text(lat if loc.get("latitude") is None else loc["latitude"]),
        "longitude": _text(lon if loc.get("longitude") is None else loc["longitude"]),
    }
    if "virtual" in {_text(loc.get("location_type")).lower(),
                     *(_text(a.get("address_type")).lower() for a in addresses)}:
        return {**fields, "postcode": "", "latitude": "", "longitude": "",
                "note": "virtual location: no place to map"}
    return {**fields, "note": _location_note(fields)}


def _location_note(fields: dict[str, str]) -> str:
    notes = []
    if _number(fields["latitude"]) == 0 and _number(fields["longitude"]) == 0:
        notes.append("coordinates [0, 0] are a placeholder, not a place")
    elif (places := min(_decimals(fields["latitude"]), _decimals(fields["longitude"]))) <= 2:
        notes.append(f"coordinates rounded to {places} decimal places: approximate")
    if _DISTRICT.match(re.sub(r"\s", "", fields["postcode"]).upper()):
        notes.append("postcode district only: the address is masked")
    return "; ".join(notes)


def _note_repeats(frame: pd.DataFrame) -> None:
    """Note a service at a location listed again, naming the page it was first on."""
    first = frame.groupby("id")["page"].transform("first")
    again = (frame["id"].duplicated() & (frame["id"].str.strip("/") != "")).to_numpy()
    where = ("on page " + first).where(first.str.isdigit(), "in " + first)
    note = "listed again (first " + where + ")"
    frame.loc[again, "note"] = frame["note"].where(frame["note"] == "",
                                                   frame["note"] + "; ")[again] + note[again]


def _terms(service: dict) -> list:
    """Taxonomy term names: ORUK 1 ``service_taxonomys[].taxonomy``, HSDS 3
    ``attributes[].taxonomy_term``, or ``taxonomies``/``taxonomy_terms`` listed directly."""
    listed = [_dict(t.get("taxonomy", t.get("taxonomy_term", t)))
              for key in ("service_taxonomys", "attributes", "taxonomies", "taxonomy_terms")
              for t in _list(service.get(key)) if isinstance(t, dict)]
    return [term.get("name") for term in listed]


def _age_range(service: dict) -> str:
    """``"0-5"``, ``"11+"`` or ``"up to 19"``, from the service or its eligibilities."""
    ranges = [service, *(e for e in _list(service.get("eligibilitys")) if isinstance(e, dict))]
    low = next((_text(r["minimum_age"]) for r in ranges if r.get("minimum_age") is not None), "")
    high = next((_text(r["maximum_age"]) for r in ranges if r.get("maximum_age") is not None), "")
    if low and high:
        return f"{low}-{high}"
    return f"{low}+" if low else f"up to {high}" if high else ""


def _schedule(holder: dict) -> str:
    """Opening times: each schedule's description, else its days and hours."""
    times = []
    for s in _list(holder.get("regular_schedules")) + _list(holder.get("schedules")):
        if not isinstance(s, dict):
            continue
        hours = "-".join(filter(None, (_text(s.get(k))[:5] for k in ("opens_at", "closes_at"))))
        days = _text(s.get("byday") or s.get("weekday"))
        times.append(_text(s.get("description")) or " ".join(filter(None, (days, hours))))
    return "; ".join(filter(None, times))


def _phone(service: dict) -> str:
    phones = _list(service.get("phones")) + [
        p for c in _list(service.get("contacts")) if isinstance(c, dict)
        for p in _list(c.get("phones"))]
    return next((_text(p.get("number")) for p in phones if isinstance(p, dict)
                 and p.get("number")), "")


def _text(value) -> str:
    """A JSON value as text: whole numbers without ``.0``, nothing as ``""``."""
    if value is None or isinstance(value, dict | list):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _decimals(text: str) -> int:
    """Decimal places of a typed number (99 for none given, so it is never "rounded")."""
    return len(text.split(".")[1]) if re.fullmatch(r"-?\d+\.\d+", text) else 99


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value) -> list:
    return value if isinstance(value, list) else []
