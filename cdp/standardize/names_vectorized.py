"""standardize_name on whole columns: the plain names as polars expressions.

Most names extracts carry are two to four characters of the basic CJK block, each of which pypinyin
reads alone: a person's name that cleaning leaves as it is, whose pinyin key is its characters'
readings (a surname with its own reading first) and whose other key puts the given name first.
`name_fast` answers those in one vectorized pass and leaves to the Python standardizer
(cdp/standardize/names.py) every name that cleaning could change (a traditional character OpenCC
simplifies, a title, a company word, a place with its level), every name holding a phrase of
pypinyin's dictionary (pypinyin reads a phrase as a word) and every name with a character pypinyin
does not read alone. The Python standardizer stays the reference: tests/standardize/test_vectorized.py
compares every answer with it, on the demo's names and on random ones.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import polars as pl
from pypinyin.constants import PHRASES_DICT

from cdp.standardize.names import (
    CJK_TITLES,
    COMPANY_MARKERS,
    COMPOUND_SURNAMES,
    PLACE_WITH_LEVEL,
    SURNAME_READINGS,
    character_reading,
    simplified,
)

PLAIN_NAME_CHARS = 4  # a compound surname and a two-character given name; longer names go to Python
PLAIN_NAME = rf"^[\u4e00-\u9fff]{{2,{PLAIN_NAME_CHARS}}}$"


@lru_cache(maxsize=1)
def _phrases() -> pl.Series:
    """The phrases of pypinyin's dictionary a plain name can hold (two to four characters)."""
    return pl.Series("phrase", sorted(p for p in PHRASES_DICT if 2 <= len(p) <= PLAIN_NAME_CHARS), dtype=pl.Utf8)


def _reading_table(values: list[str]) -> pl.DataFrame:
    """Each character of `values` with its reading alone (None: pypinyin does not read it, or NFKC changes
    it); `character_reading` keeps the readings between calls."""
    characters = sorted(set("".join(values)))
    readings = [character_reading(c) if unicodedata.normalize("NFKC", c) == c else None for c in characters]
    return pl.DataFrame({"character": characters, "reading": readings}, schema={"character": pl.Utf8, "reading": pl.Utf8})


def _holds_a_phrase(value: pl.Expr, length: pl.Expr) -> pl.Expr:
    """Any run of two or more of the name's characters is a phrase (names.pinyin_syllables_of)."""
    runs = [(start, end) for start in range(PLAIN_NAME_CHARS - 1) for end in range(start + 2, PLAIN_NAME_CHARS + 1)]
    return pl.any_horizontal([(length >= end) & value.str.slice(start, end - start).is_in(_phrases().implode())
                              for start, end in runs])


def _cleaning_keeps(value: pl.Expr) -> pl.Expr:
    """No title to strip, no company word and no place with its level (names.comparison_name)."""
    return ~(pl.any_horizontal([value.str.ends_with(title) for title in CJK_TITLES])
             | value.str.contains_any(list(COMPANY_MARKERS)) | value.str.contains(PLACE_WITH_LEVEL))


def _keys(value: pl.Expr, length: pl.Expr, readings: list[pl.Expr]) -> tuple[pl.Expr, pl.Expr]:
    """The pinyin key (surname first, its own reading) and the key with the given name first; ü (v) as u."""
    first = value.str.slice(0, 1).replace_strict(SURNAME_READINGS, default=readings[0], return_dtype=pl.Utf8)
    syllables = [first, *readings[1:]]
    compound = (length > 2) & value.str.slice(0, 2).is_in(list(COMPOUND_SURNAMES))
    key = pl.concat_str(syllables, ignore_nulls=True)
    other = pl.when(compound).then(pl.concat_str([*syllables[2:], *syllables[:2]], ignore_nulls=True)) \
        .otherwise(pl.concat_str([*syllables[1:], syllables[0]], ignore_nulls=True))
    return key.str.replace_all("v", "u", literal=True), other.str.replace_all("v", "u", literal=True)


def name_fast(values: pl.Series) -> tuple[pl.DataFrame, pl.Series]:
    """standardize_name on the plain names among distinct values: (value, name, key, other key, is_company)
    of those it answered; the rest for the Python standardizer."""
    shaped = values.str.contains(PLAIN_NAME).fill_null(False)
    texts = values.filter(shaped).to_list()
    converted = simplified(texts)
    if not texts or converted is None:
        return pl.DataFrame(schema={"value": pl.Utf8, "name": pl.Utf8, "key": pl.Utf8, "other": pl.Utf8,
                                    "company": pl.Boolean}), values
    table = _reading_table(texts)
    value, length = pl.col("value"), pl.col("value").str.len_chars()
    readings = [value.str.slice(i, 1).replace_strict(table["character"], table["reading"], default=None, return_dtype=pl.Utf8)
                for i in range(PLAIN_NAME_CHARS)]
    every_read = pl.all_horizontal([(length <= i) | reading.is_not_null() for i, reading in enumerate(readings)])
    plain = (pl.col("simplified") == value) & _cleaning_keeps(value) & every_read & ~_holds_a_phrase(value, length)
    frame = pl.DataFrame({"value": texts, "simplified": converted}, schema={"value": pl.Utf8, "simplified": pl.Utf8}) \
        .with_columns(plain.alias("plain"))
    key, other = _keys(value, length, readings)
    fast = frame.filter("plain").select("value", value.alias("name"), key.alias("key"), other.alias("other"),
                                        pl.lit(False).alias("company"))
    rest = pl.concat([values.filter(~shaped), frame.filter(~pl.col("plain")).get_column("value").alias(values.name)])
    return fast, rest
