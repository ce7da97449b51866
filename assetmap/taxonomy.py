"""Asset categories: labels, colours, icons and synonyms; free-text types mapped to them.

The categories live in ``assets/taxonomy.toml``; users add or override with their own files.
"""

from __future__ import annotations

import difflib
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd

from .errors import AssetmapError, refuse_special_file
from .registers import TEXT, categorical_take, filled_text
from .settings import FUZZY_CUTOFF, resource_dir

_FIELDS = ("label", "colour", "icon", "child_facing", "coverage_m")
#: Parts of a type such as "Special / AP": each part is read on its own.
_PARTS = r"[/|;+]"
#: Words in brackets, as in "Family Hub (main)": dropped in a second reading.
_BRACKETED = r"\([^)]*\)|\[[^\]]*\]"
#: Similarity (0-1) of the synonyms suggested for a type that matches no category.
_SUGGEST_CUTOFF = 0.6
#: How many of a column's most common values :func:`type_shares` reads.
_SHARE_SAMPLE = 200
#: Walking distance (metres) within which an asset serves people, for categories that give none.
DEFAULT_COVERAGE_M = 1600.0


@dataclass(frozen=True)
class Taxonomy:
    """Categories (indexed by key: label, colour, icon, child_facing, coverage_m), their
    synonyms, and the abbreviations people type for words."""

    categories: pd.DataFrame
    synonyms: dict[str, str]  # normalised text -> category key
    abbreviations: dict[str, str] = field(default_factory=dict)  # word -> normalised words

    def labels(self) -> list[str]:
        return list(self.categories["label"])

    @cached_property
    def by_words(self) -> dict[str, str]:
        """Synonyms keyed by their words in sorted order: "school primary" finds
        "primary school"."""
        return {_sorted_words(text): key for text, key in self.synonyms.items()}


def default_taxonomy_path() -> Path:
    return resource_dir("assets") / "taxonomy.toml"


def load_taxonomy(*extra: str | Path) -> Taxonomy:
    """The built-in taxonomy, extended or overridden by each file in ``extra`` in turn."""
    merged: dict[str, dict] = {}
    synonyms: dict[str, str] = {}  # later files win: a user file can move a synonym
    abbreviations: dict[str, str] = {}
    for path in (default_taxonomy_path(), *extra):
        categories, short = _read_categories(Path(path))
        abbreviations.update({normalise_type(k): normalise_type(v) for k, v in short.items()})
        for key, fields in categories.items():
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
    return Taxonomy(categories, synonyms, abbreviations)


def _read_categories(path: Path) -> tuple[dict[str, dict], dict[str, str]]:
    """A file's ``[categories.<key>]`` tables and its ``[abbreviations]`` (word = words)."""
    refuse_special_file(path)
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
    abbreviations = data.get("abbreviations", {})
    if not isinstance(abbreviations, dict) or not all(isinstance(v, str)
                                                      for v in abbreviations.values()):
        raise AssetmapError("expected [abbreviations] of word = \"words\"", file=path)
    return categories, abbreviations


def normalise_type(text: str) -> str:
    """Lower case without accents, ``&`` as ``and``, apostrophes dropped, other punctuation
    as single spaces: ``"Community Café!"`` -> ``"community cafe"``."""
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"['`]", "", text.casefold().replace("&", " and "))
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text).split())


def _sorted_words(text: str) -> str:
    return " ".join(sorted(text.split()))


def _singulars(text: str) -> list[str]:
    """The text, and its singular if it looks plural ("libraries" -> "library")."""
    if text.endswith("ies"):
        return [text, text[:-3] + "y"]
    return [text, text[:-1]] if text.endswith("s") else [text]


def _lookup(text: str, taxonomy: Taxonomy) -> str | None:
    """The category key a normalised text names: as a synonym, in the singular, or with its
    words in another order."""
    for form in _singulars(text):
        key = taxonomy.synonyms.get(form) or taxonomy.by_words.get(_sorted_words(form))
        if key:
            return key
    return None


def _read(raw: str, taxonomy: Taxonomy) -> str | None:
    """The category key a type names once read more loosely: abbreviations spelled out
    ("Comm Centre"), words in brackets dropped ("Family Hub (main)")."""
    for text in dict.fromkeys(normalise_type(t) for t in (raw, re.sub(_BRACKETED, " ", raw))):
        spelled = " ".join(taxonomy.abbreviations.get(word, word) for word in text.split())
        key = _lookup(text, taxonomy) or _lookup(spelled, taxonomy)
        if key:
            return key
    return None


def _match(raw: str, taxonomy: Taxonomy, fuzzy: bool = True) -> tuple[list[str], str]:
    """The category keys one typed type names, and how: see :func:`classify`."""
    text = normalise_type(raw)
    if not text:
        return [], "blank"
    key = _lookup(text, taxonomy)
    if key:
        return [key], "exact"
    key = _read(raw, taxonomy)
    if key:
        return [key], "reading"
    parts = [p for p in re.split(_PARTS, raw) if normalise_type(p)]
    keys = list(dict.fromkeys(filter(None, (_read(p, taxonomy) for p in parts))))
    if len(parts) > 1 and keys:
        return keys, "reading" if len(keys) == 1 else "ambiguous"
    if not fuzzy:
        return [], "unknown"
    close = difflib.get_close_matches(text, list(taxonomy.synonyms), n=1, cutoff=FUZZY_CUTOFF)
    if close:
        return [taxonomy.synonyms[close[0]]], "fuzzy"
    near = difflib.get_close_matches(text, list(taxonomy.synonyms), n=10, cutoff=_SUGGEST_CUTOFF)
    return list(dict.fromkeys(taxonomy.synonyms[t] for t in near))[:3], "unknown"


def classify(types: pd.Series, taxonomy: Taxonomy) -> pd.DataFrame:
    """Map free-text types to category labels.

    Returns a frame on ``types``'s index with ``category`` (label, or NA), ``match`` and
    ``suggestions`` (labels, comma-separated, for ``ambiguous`` and ``unknown`` types).
    ``match`` is ``exact`` (a label or synonym, ignoring case, accents, punctuation, plurals
    and word order), ``reading`` (an abbreviation spelled out as the taxonomy's
    ``[abbreviations]`` say, words in brackets dropped, or the parts of "A / B" naming one
    category), ``fuzzy`` (a small typo, similarity >= ``FUZZY_CUTOFF``), ``ambiguous``
    (parts naming different categories, as "Children's Centre / Family Hub": no category,
    never guessed), ``unknown`` (no category, with the closest categories suggested) or
    ``blank``.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pa.array(types.fillna("").astype(TEXT).array)
    unique = pc.unique(text)
    found = [_match(t, taxonomy) for t in unique.to_pylist()]  # distinct types only: a few
    labels = taxonomy.categories["label"]
    named = [labels[keys[0]] if len(keys) == 1 and match != "unknown" else None
             for keys, match in found]
    suggested = [", ".join(labels[keys]) if match in ("ambiguous", "unknown") else ""
                 for keys, match in found]
    position = pc.index_in(text, value_set=unique).to_numpy()
    return pd.DataFrame({
        "category": categorical_take(named, position),
        "match": categorical_take([match for _, match in found], position),
        "suggestions": categorical_take(suggested, position)}, index=types.index)


def type_shares(frame: pd.DataFrame, taxonomy: Taxonomy) -> pd.Series:
    """Per column, the share of its non-blank cells that name a category exactly or by a
    reading (typos are not counted): how much each column looks like a type column.

    Each column's values are counted by Arrow, and each distinct text is matched once.
    """
    named: dict[str, bool] = {}
    shares = {}
    for column, values in frame.items():
        text = filled_text(values).str.strip()
        counts = text[(text != "").to_numpy()].value_counts(sort=False)
        # a column's rarer values cannot make it a type column: read its most common ones
        common = counts.sort_values(ascending=False, kind="stable").head(_SHARE_SAMPLE)
        for t in common.index:
            if t not in named:
                named[t] = _match(t, taxonomy, fuzzy=False)[1] in ("exact", "reading")
        hits = common[common.index.map(named).to_numpy(bool)].sum()
        shares[column] = hits / counts.sum() if len(counts) else 0.0
    return pd.Series(shares, index=frame.columns, dtype=float)
