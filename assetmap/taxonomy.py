"""Asset categories: labels, colours, icons and synonyms; free-text types mapped to them.

The categories live in ``assets/taxonomy.toml``; users add or override with their own files.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import AssetmapError
from .settings import FUZZY_CUTOFF, resource_dir

_FIELDS = ("label", "colour", "icon", "child_facing", "coverage_m")
#: Walking distance (metres) within which an asset serves people, for categories that give none.
DEFAULT_COVERAGE_M = 1600.0


@dataclass(frozen=True)
class Taxonomy:
    """Categories (indexed by key: label, colour, icon, child_facing, coverage_m) and their
    synonyms."""

    categories: pd.DataFrame
    synonyms: dict[str, str]  # normalised text -> category key

    def labels(self) -> list[str]:
        return list(self.categories["label"])


def default_taxonomy_path() -> Path:
    return resource_dir("assets") / "taxonomy.toml"


def load_taxonomy(*extra: str | Path) -> Taxonomy:
    """The built-in taxonomy, extended or overridden by each file in ``extra`` in turn."""
    merged: dict[str, dict] = {}
    synonyms: dict[str, str] = {}  # later files win: a user file can move a synonym
    for path in (default_taxonomy_path(), *extra):
        for key, fields in _read_categories(Path(path)).items():
            entry = merged.setdefault(key, {})
            entry.update({k: v for k, v in fields.items() if k != "synonyms"})
            for text in (key, entry.get("label", key), *fields.get("synonyms", [])):
                synonyms[normalise_type(text)] = key
    for key, entry in merged.items():
        missing = [f for f in ("label", "colour") if f not in entry]
        if missing:
            raise AssetmapError(f"category {key!r} has no {' or '.join(missing)}")
        coverage = entry.get("coverage_m", DEFAULT_COVERAGE_M)
        if isinstance(coverage, bool) or not isinstance(coverage, int | float) or coverage <= 0:
            raise AssetmapError(f"category {key!r}: coverage_m must be a number of metres > 0")
    defaults = {"icon": "location-dot", "child_facing": False, "coverage_m": DEFAULT_COVERAGE_M}
    categories = pd.DataFrame(
        {f: [entry.get(f, defaults.get(f)) for entry in merged.values()] for f in _FIELDS},
        index=pd.Index(list(merged), name="key"))
    return Taxonomy(categories, synonyms)


def _read_categories(path: Path) -> dict[str, dict]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AssetmapError("taxonomy file not found", file=path) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise AssetmapError(f"not a valid TOML taxonomy ({exc})", file=path) from None
    categories = data.get("categories")
    if not isinstance(categories, dict) or not all(isinstance(v, dict)
                                                   for v in categories.values()):
        raise AssetmapError("expected [categories.<key>] tables", file=path)
    return categories


def normalise_type(text: str) -> str:
    """Lower case, ``&`` as ``and``, apostrophes dropped, other punctuation as single spaces."""
    text = str(text).casefold().replace("&", " and ")
    text = re.sub(r"['\u2019`]", "", text)
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text).split())


def _singulars(text: str) -> list[str]:
    """The text, and its singular if it looks plural ("libraries" -> "library")."""
    if text.endswith("ies"):
        return [text, text[:-3] + "y"]
    return [text, text[:-1]] if text.endswith("s") else [text]


def classify(types: pd.Series, taxonomy: Taxonomy) -> pd.DataFrame:
    """Map free-text types to category labels.

    Returns a frame on ``types``'s index with ``category`` (label, or NA) and ``match``:
    ``exact`` (a label or synonym, ignoring case and punctuation), ``fuzzy`` (a small typo,
    similarity >= ``FUZZY_CUTOFF``), ``unknown`` (reported, never guessed) or ``blank``.
    """
    normalised = types.fillna("").astype(str).map(normalise_type)
    unique = pd.Index(normalised.unique())
    keys, matches = [], []
    choices = list(taxonomy.synonyms)
    for text in unique:  # distinct types only: a register has a handful
        key = next((taxonomy.synonyms[t] for t in _singulars(text) if t in taxonomy.synonyms),
                   None)
        if key or not text:
            keys.append(key)
            matches.append("exact" if key else "blank")
            continue
        close = difflib.get_close_matches(text, choices, n=1, cutoff=FUZZY_CUTOFF)
        keys.append(taxonomy.synonyms[close[0]] if close else None)
        matches.append("fuzzy" if close else "unknown")
    labels = taxonomy.categories["label"].reindex(pd.Index(keys, dtype=object)).to_numpy()
    position = unique.get_indexer(normalised)
    return pd.DataFrame({"category": pd.array(labels[position], dtype=object),
                         "match": pd.array(matches, dtype=object)[position]},
                        index=types.index)
