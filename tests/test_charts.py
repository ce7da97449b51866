"""Inline SVG charts and area maps: well-formed, escaped, right marks, small, deterministic."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import geopandas as gpd
import numpy as np
import pytest
import shapely

from assetmap.charts import area_map, bar_chart, column_chart
from assetmap.errors import AssetmapError

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>alert(1)</script>\"&'"
BAD_COLOURS = ["red;stroke:url(x)", '"onload="', "#12345", "#ggg", None]


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img" and root.get("viewBox")
    return root


def find(root: ET.Element, tag: str) -> list[ET.Element]:
    return list(root.iter(f"{SVG}{tag}"))


def texts(root: ET.Element) -> list[str]:
    return ["".join(element.itertext()) for element in find(root, "text")]


def assert_escaped(svg: str) -> None:
    """The hostile text only escaped: never a live tag, and whole once parsed."""
    assert "<script" not in svg and "&lt;script&gt;" in svg
    assert not re.search(r"=\"[^\"]*\"onload", svg)


def test_bar_chart_rows_values_and_suppressed():
    svg = bar_chart(["Ward A", "Ward B", "Ward C", "Ward D"], [12.5, float("nan"), 1234.56, None],
                    title="Share of people", unit="%", marked=[True, False, False, False])
    root = parse(svg)
    bars = find(root, "rect")
    assert len(bars) == 2  # the two missing values drawn without a bar
    assert [bar.get("fill") for bar in bars] == ["#08519c", "#9ecae1"]  # marked is darker
    assert "12.5%" in texts(root) and "1,234.6%" in texts(root)
    assert texts(root).count("suppressed") == 2
    assert root.get("aria-label") == "Share of people"
    # rows in the order given, one row height apart; the height grows with the rows
    ys = [float(bar.get("y")) for bar in bars]
    assert ys[1] - ys[0] == 2 * 19
    taller = bar_chart([f"W{i}" for i in range(20)], list(range(20)), title="t")
    assert float(parse(taller).get("viewBox").split()[3]) > float(root.get("viewBox").split()[3])


def test_bar_chart_reference_limit_and_scale():
    root = parse(bar_chart(["a", "b"], [50, 100], title="t", limit=200, reference=100,
                           reference_label="District average"))
    bars = find(root, "rect")
    assert float(bars[1].get("width")) == pytest.approx(2 * float(bars[0].get("width")))
    line = next(p for p in find(root, "path") if p.get("class") == "reference")
    assert line.get("stroke-dasharray")
    x = float(re.match(r"M([\d.]+),", line.get("d")).group(1))
    # the reference at 100 of 200 sits at the end of the bar worth 100
    assert x == pytest.approx(float(bars[1].get("x")) + float(bars[1].get("width")), abs=0.2)
    assert "District average" in texts(root) and "200" in texts(root)
    # no limit: the largest value rounded up to a nice number
    assert "2,000" in texts(parse(bar_chart(["a"], [1234], title="t")))
    assert not [p for p in find(parse(bar_chart(["a"], [1], title="t")), "path")
                if p.get("class") == "reference"]


def test_bar_chart_hostile_and_long_labels():
    long = "A very long ward name that will not fit in the label column " + HOSTILE
    svg = bar_chart([HOSTILE, long], [1, 2], title=HOSTILE, unit=HOSTILE,
                    reference=1, reference_label=HOSTILE)
    root = parse(svg)
    assert_escaped(svg)
    assert root.get("aria-label") == HOSTILE
    assert HOSTILE in texts(root)  # short label shown whole
    cut = next(t for t in find(root, "text") if t.find(f"{SVG}title") is not None)
    assert cut.find(f"{SVG}title").text == long and cut.find(f"{SVG}title").tail.endswith("…")


def test_bar_chart_refuses_mismatched_lengths():
    with pytest.raises(AssetmapError, match="labels"):
        bar_chart(["a", "b"], [1], title="t")
    with pytest.raises(AssetmapError, match="marks"):
        bar_chart(["a"], [1], title="t", marked=[True, False])


def test_column_chart_columns_gaps_and_labels():
    labels = ["1 (most deprived)", *map(str, range(2, 10)), "10 (least deprived)"]
    values = [850.0, 900, float("nan"), 1200, 1250, 1300, 1400, 1500, 1600, 2100]
    svg = column_chart(labels, values, title="Median distance " + HOSTILE, unit=" m")
    root = parse(svg)
    assert_escaped(svg)
    assert len(find(root, "rect")) == 9
    assert texts(root).count("n/a") == 1 and "2,100.0 m" in texts(root)
    assert "1 (most deprived)" in [" ".join(t.itertext()) for t in find(root, "text")]
    columns = find(root, "rect")
    assert float(columns[-1].get("height")) > float(columns[0].get("height"))
    # columns left to right in the order given
    xs = [float(c.get("x")) for c in columns]
    assert xs == sorted(xs)


def test_charts_are_deterministic():
    args = (["a", "b", "c"], [1.0, float("nan"), 3.0])
    assert bar_chart(*args, title="t", reference=2) == bar_chart(*args, title="t", reference=2)
    assert column_chart(*args, title="t") == column_chart(*args, title="t")


def ring(cx: float, cy: float, radius: float, n: int, wobble: float = 0.0) -> np.ndarray:
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = radius * (1 + wobble * np.sin(angles * 37))
    return np.column_stack([cx + r * np.cos(angles), cy + r * np.sin(angles)])


def numbers(path_data: str) -> np.ndarray:
    return np.array(re.findall(r"-?\d+(?:\.\d+)?", path_data), dtype=float).reshape(-1, 2)


@pytest.fixture(scope="module")
def donut() -> shapely.Polygon:
    """A 2 km by 1 km area in Bradford with a hole (a lake, another area inside)."""
    return shapely.Polygon([(410000, 432000), (412000, 432000), (412000, 433000),
                            (410000, 433000)],
                           [[(410800, 432300), (411200, 432300), (411200, 432700),
                             (410800, 432700)]])


def test_area_map_view_covers_area_with_holes(donut):
    svg = area_map(donut, size=260, title="Ward " + HOSTILE)
    root = parse(svg)
    assert_escaped(svg)
    assert root.get("aria-label") == "Ward " + HOSTILE
    assert root.get("viewBox") == "0 0 260 260"
    area = next(p for p in find(root, "path") if p.get("class") == "area")
    assert area.get("fill-rule") == "evenodd" and area.get("d").count("M") == 2  # shell + hole
    xy = numbers(area.get("d"))
    assert xy.min() >= 0 and xy.max() <= 260
    # the wider side fills the view less a 5% margin each side; north up (y flipped)
    assert xy[:, 0].max() - xy[:, 0].min() == pytest.approx(260 / 1.1, abs=0.2)
    assert xy[:, 1].max() - xy[:, 1].min() == pytest.approx(130 / 1.1, abs=0.2)
    south_west = numbers(area.get("d").split("Z")[0])[0]
    assert tuple(south_west) == pytest.approx((130 - 260 / 2.2, 130 + 130 / 2.2), abs=0.2)
    assert "0.5 km" in texts(root)  # scale bar: round km at most a third of the 2.2 km view


def test_area_map_points_context_and_colours(donut):
    xs, ys = np.array([410500.0, 411500, 411900, 500000]), np.array([432500.0, 432500, 432900, 0])
    points = [(xs, ys, "#1f78b4", "Libraries " + HOSTILE)]
    points += [(xs[:2], ys[:2], bad, f"bad {i}") for i, bad in enumerate(BAD_COLOURS)]
    points.append((xs[:1], ys[:1], "#abc", "short hex"))
    context = gpd.GeoSeries([shapely.box(412000, 432000, 414000, 433000),  # neighbour
                             shapely.box(300000, 300000, 301000, 301000),  # far away
                             None])
    svg = area_map(donut, context=context, points=points)
    root = parse(svg)
    assert_escaped(svg)
    assert "url(" not in svg and "onload" not in svg
    groups = [g for g in find(root, "g") if g.get("class") == "points"]
    assert [len(find(g, "circle")) for g in groups] == [3, *[2] * len(BAD_COLOURS), 1]
    assert [g.get("fill") for g in groups] == ["#1f78b4", *["#777777"] * len(BAD_COLOURS),
                                               "#abc"]
    assert "Libraries " + HOSTILE in texts(root) and "short hex" in texts(root)
    # the legend below the map makes the view taller than wide
    assert float(root.get("viewBox").split()[3]) > 260
    neighbour = next(p for p in find(root, "path") if p.get("fill") == "#f0f0f0")
    assert neighbour.get("d").count("M") == 1  # the far-away area is clipped out


def test_area_map_small_and_deterministic():
    """An LSOA-like polygon with 5,000 wiggly vertices stays small once simplified."""
    shell = ring(415000, 433000, 600, 5000, wobble=0.002)
    hole = ring(415000, 433000, 100, 500)
    area = shapely.Polygon(shell, [hole])
    context = [shapely.Polygon(ring(415000 + dx, 433000, 600, 5000, wobble=0.002))
               for dx in (-1200, 1200)]
    svg = area_map(area, context=context)
    assert len(svg.encode()) < 30_000
    assert svg == area_map(area, context=context)


def test_area_map_refuses_empty():
    with pytest.raises(AssetmapError, match="no geometry"):
        area_map(shapely.Polygon())


def test_area_map_real_ward(layers):
    wards = layers["ward"]
    ward = wards.geometry.iloc[0]
    svg = area_map(ward, context=wards.geometry.to_numpy(), title=wards["name"].iloc[0])
    root = parse(svg)
    assert len(svg.encode()) < 60_000
    area = next(p for p in find(root, "path") if p.get("class") == "area")
    xy = numbers(area.get("d"))
    assert xy.min() >= 0 and xy.max() <= 260
    assert max(np.ptp(xy, axis=0)) == pytest.approx(260 / 1.1, abs=0.5)
