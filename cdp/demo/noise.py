"""How the source systems garble person data: name, mobile, ID-number and VIN noise, invalid rows.

Every kind is applied per record, independently, at the rate below among the records it can
apply to ("eligible"), and is logged per record so the ground truth names it and the summary
can report measured rates. Eligibility is part of each kind's definition:

- name_homophone: person names with a given-name character that has a same-pinyin alternative
  (and not rendered in pinyin); one such character is swapped (张伟 → 张玮).
- name_traditional: names whose traditional-script form differs (张伟 → 張偉), not in pinyin.
- name_pinyin: person names, written Zhang Wei / ZHANG WEI / Wei Zhang / zhang wei.
- name_latin_typo: names written in pinyin; a space typed inside the first word ("L iu Wei").
- name_title: person names in Chinese script; a form of address added, after the full name
  (赵玉娟女士) or after the surname alone (王先生).
- name_spacing: every name; a half-width or ideographic space after the surname, or stray
  leading / trailing spaces.
- company_suffix: company names; legal form dropped or changed, city dropped, branch added.
- mobile_missing, mobile_typo (a digit dropped: 10 digits), mobile_format (+86 138-0013-8000,
  0086 13800138000, 138 0013 8000, 138-0013-8000, +8613800138000, full-width digits),
  mobile_extension (an extension written after it: 138 0013 8000 转 8, 13800138000-8, … ext. 8):
  one of the four per record, every record.
- phone_changed: not noise but real change, logged for the truth: the person switched to a new
  mobile and this record, dated after the switch, carries the new one.
- id_missing (records of sources with an ID column), id_bad_check (present IDs),
  id_lowercase_x (present resident IDs ending in X).
- vin_missing (sources where the VIN is optional), vin_invalid (I/O/Q substituted or check digit
  wrong), vin_lowercase, vin_fullwidth (present VINs).
- invalid rows (kinds negative_amount, future_date, end_before_start, missing_required) at
  INVALID_ROW_RATE per source, the kind drawn among those the source can have.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import opencc
import polars as pl
from pypinyin import Style, lazy_pinyin

from cdp.demo import catalogue as cat

NAME_HOMOPHONE = 0.035
NAME_TRADITIONAL = 0.03
NAME_PINYIN = 0.02
NAME_SPACING = 0.03
NAME_LATIN_TYPO = 0.30
NAME_TITLE = 0.02
COMPANY_SUFFIX = 0.20
MOBILE_MISSING = 0.05
MOBILE_TYPO = 0.01
MOBILE_FORMAT = 0.15
MOBILE_EXTENSION = 0.01
ID_MISSING = 0.25
ID_BAD_CHECK = 0.02
ID_LOWERCASE_X = 0.30
VIN_MISSING = 0.01
VIN_INVALID = 0.01
VIN_LOWERCASE = 0.02
VIN_FULLWIDTH = 0.005
INVALID_ROW_RATE = 0.005

NOISE_RATES = {
    "name_homophone": NAME_HOMOPHONE, "name_traditional": NAME_TRADITIONAL, "name_pinyin": NAME_PINYIN,
    "name_latin_typo": NAME_LATIN_TYPO, "name_title": NAME_TITLE,
    "name_spacing": NAME_SPACING, "company_suffix": COMPANY_SUFFIX,
    "mobile_missing": MOBILE_MISSING, "mobile_typo": MOBILE_TYPO, "mobile_format": MOBILE_FORMAT,
    "mobile_extension": MOBILE_EXTENSION,
    "id_missing": ID_MISSING, "id_bad_check": ID_BAD_CHECK, "id_lowercase_x": ID_LOWERCASE_X,
    "vin_missing": VIN_MISSING, "vin_invalid": VIN_INVALID, "vin_lowercase": VIN_LOWERCASE,
    "vin_fullwidth": VIN_FULLWIDTH,
}
INVALID_KINDS = ("negative_amount", "future_date", "end_before_start", "missing_required")
ALL_KINDS = (*NOISE_RATES, "phone_changed", *INVALID_KINDS)

_S2T = opencc.OpenCC("s2t")
_FULL_WIDTH = {chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)}
_RIC_CHECK = "0123456789X"
_USCC = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@dataclass
class NoiseLog:
    """Per-record flags of one source, and how many records each kind could have applied to."""

    n: int
    flags: dict[str, np.ndarray] = field(default_factory=dict)
    eligible: dict[str, int] = field(default_factory=dict)

    def record(self, kind: str, applied: np.ndarray, eligible: np.ndarray | int) -> None:
        self.flags[kind] = self.flags.get(kind, np.zeros(self.n, bool)) | applied
        count = int(eligible.sum()) if isinstance(eligible, np.ndarray) else int(eligible)
        self.eligible[kind] = self.eligible.get(kind, 0) + count

    def labels(self) -> pl.Series:
        """Comma-separated kinds per record, in ALL_KINDS order ('' when clean)."""
        columns = [pl.when(pl.Series(self.flags[k])).then(pl.lit(k)) for k in ALL_KINDS if k in self.flags]
        if not columns:
            return pl.repeat("", self.n, eager=True, dtype=pl.String).alias("noise")
        return pl.select(pl.concat_str(columns, separator=",", ignore_nulls=True).fill_null("")).to_series().alias("noise")

    def counts(self) -> dict[str, tuple[int, int]]:
        return {k: (int(self.flags[k].sum()), self.eligible.get(k, 0)) for k in self.flags}


def _map_unique(values: pl.Series, fn) -> pl.Series:
    """Apply a Python function once per distinct value and map the results back."""
    distinct = values.unique(maintain_order=True).drop_nulls()
    results = [fn(v) for v in distinct.to_list()]
    return values.replace_strict(distinct, pl.Series(results, dtype=pl.String), default=None)


def to_traditional(values: pl.Series) -> pl.Series:
    """opencc s2t over the distinct values in one call (names carry no newlines)."""
    distinct = values.unique(maintain_order=True).drop_nulls()
    if distinct.len() == 0:
        return values
    converted = _S2T.convert("\n".join(distinct.to_list())).split("\n")
    return values.replace_strict(distinct, pl.Series(converted, dtype=pl.String), default=None)


# --------------------------------------------------------------------------- names


def _surname_length(name: str) -> int:
    return 2 if name[:2] in cat.SURNAME_READINGS and len(name) > 2 else 1


def homophone_variants(name: str) -> list[str]:
    """Every name with one given-name character swapped for a same-pinyin character."""
    start = _surname_length(name)
    return [name[:i] + alt + name[i + 1:] for i in range(start, len(name)) for alt in cat.HOMOPHONES.get(name[i], "")]


def _has_homophone(name: str) -> bool:
    return any(ch in cat.HOMOPHONES for ch in name[_surname_length(name):])


_SYLLABLE: dict[str, str] = {}


def _syllable(ch: str) -> str:
    if ch not in _SYLLABLE:
        _SYLLABLE[ch] = (lazy_pinyin(ch, style=Style.NORMAL) or [""])[0]
    return _SYLLABLE[ch]


def pinyin_forms(name: str) -> tuple[str, str, str, str]:
    """Zhang Wei, ZHANG WEI, Wei Zhang, zhang wei (given-name syllables written together)."""
    k = _surname_length(name)
    surname = cat.SURNAME_READINGS.get(name[:k]) or "".join(_syllable(c) for c in name[:k])
    given = "".join(_syllable(c) for c in name[k:])
    s, g = surname.capitalize(), given.capitalize()
    return f"{s} {g}", f"{s} {g}".upper(), f"{g} {s}", f"{s} {g}".lower()


@dataclass
class NameTraits:
    """Per person: can the name take a homophone slip, does its traditional form differ."""

    homophone_ok: np.ndarray
    traditional_ok: np.ndarray
    is_company: np.ndarray

    @classmethod
    def of(cls, people: pl.DataFrame) -> "NameTraits":
        names = people["name"]
        homophone_ok = _map_unique(names, lambda n: "1" if _has_homophone(n) else "0") == "1"
        return cls(
            homophone_ok=homophone_ok.to_numpy() & (people["kind"] == "person").to_numpy(),
            traditional_ok=(to_traditional(names) != names).to_numpy(),
            is_company=(people["kind"] == "company").to_numpy(),
        )


def render_names(rng: np.random.Generator, person: np.ndarray, people: pl.DataFrame, traits: NameTraits,
                 blank: np.ndarray, log: NoiseLog) -> pl.Series:
    n = len(person)
    base = people["name"].gather(person)
    company = traits.is_company[person]
    u_script, u_slip, u_space, u_form, u_space_form = (rng.random(n) for _ in range(5))
    present = ~blank

    pinyin = present & ~company & (u_script < NAME_PINYIN)
    log.record("name_pinyin", pinyin, present & ~company)
    slip_ok = present & ~company & ~pinyin & traits.homophone_ok[person]
    slip = slip_ok & (u_slip < NAME_HOMOPHONE)
    log.record("name_homophone", slip, slip_ok)
    suffix_ok = present & company
    suffix = suffix_ok & (u_slip < COMPANY_SUFFIX)
    log.record("company_suffix", suffix, suffix_ok)

    names = base
    if slip.any():
        where = np.flatnonzero(slip)
        variants = _map_unique(base.gather(where), lambda v: "\t".join(homophone_variants(v)))
        chosen = pl.DataFrame({"v": variants.str.split("\t"), "u": u_form[where]}).select(
            pl.col("v").list.get((pl.col("u") * pl.col("v").list.len()).floor().cast(pl.Int64))).to_series()
        names = names.scatter(where, chosen)
    if suffix.any():
        where = np.flatnonzero(suffix)
        names = names.scatter(where, company_variants(names.gather(where), u_form[where]))

    # Traditional script: eligibility is judged on the name after any slip or suffix change.
    traditional_ok = present & ~pinyin & traits.traditional_ok[person]
    changed = np.flatnonzero(present & ~pinyin & (slip | suffix))
    if len(changed):
        traditional_ok[changed] = (to_traditional(names.gather(changed)) != names.gather(changed)).to_numpy()
    traditional = traditional_ok & (u_script >= NAME_PINYIN) & (u_script < NAME_PINYIN + NAME_TRADITIONAL)
    log.record("name_traditional", traditional, traditional_ok)
    if traditional.any():
        where = np.flatnonzero(traditional)
        names = names.scatter(where, to_traditional(names.gather(where)))
    if pinyin.any():
        where = np.flatnonzero(pinyin)
        forms = pl.DataFrame({"n": base.gather(where), "u": u_form[where]}).with_columns(
            f=_map_unique(base.gather(where), lambda v: "\t".join(pinyin_forms(v))).str.split("\t"))
        names = names.scatter(where, forms.select(
            pl.col("f").list.get((pl.col("u") * 4).floor().cast(pl.Int64))).to_series())

    u_typo, u_title, u_title_form = (rng.random(n) for _ in range(3))
    latin_typo = pinyin & (u_typo < NAME_LATIN_TYPO)
    log.record("name_latin_typo", latin_typo, pinyin)
    if latin_typo.any():
        where = np.flatnonzero(latin_typo)
        names = names.scatter(where, names.gather(where).str.replace(r"^(\w)", "$1 "))
    title_ok = present & ~company & ~pinyin
    title = title_ok & (u_title < NAME_TITLE)
    log.record("name_title", title, title_ok)
    if title.any():
        where = np.flatnonzero(title)
        names = names.scatter(where, _titled(names.gather(where), people["gender"].gather(person[where]),
                                             u_title_form[where]))

    spacing = present & (u_space < NAME_SPACING)
    log.record("name_spacing", spacing, present)
    if spacing.any():
        where = np.flatnonzero(spacing)
        names = names.scatter(where, _spaced(names.gather(where), u_space_form[where], pinyin[where]))
    return names.scatter(np.flatnonzero(blank), None) if blank.any() else names


def _titled(names: pl.Series, gender: pl.Series, u: np.ndarray) -> pl.Series:
    """张伟 → 张伟先生 / 张先生, 李娜 → 李娜女士 / 李小姐 / 李女士."""
    surname = _map_unique(names, lambda v: v[:_surname_length(v)])
    frame = pl.DataFrame({"n": names, "s": surname, "male": gender == "男", "u": u})
    title = (pl.when(pl.col("male")).then(pl.lit("先生"))
             .when(pl.col("u") < 0.7).then(pl.lit("女士")).otherwise(pl.lit("小姐")))
    return frame.select(pl.when(pl.col("u") < 0.6).then(pl.concat_str([pl.col("n"), title]))
                        .otherwise(pl.concat_str([pl.col("s"), title]))).to_series()


def company_variants(names: pl.Series, u: np.ndarray) -> pl.Series:
    """广州市恒通物流有限公司 → 广州市恒通物流 / 广州恒通物流有限公司 / 恒通物流有限公司 /
    广州市恒通物流股份有限公司 / 广州市恒通物流有限公司天河分公司."""
    pick = np.floor(u * 5).astype(np.int64)
    legal = r"(股份有限公司|有限责任公司|有限公司)$"
    branch = pl.Series(["天河", "南山", "浦东", "西湖", "城东", "城西"]).gather(np.floor(u * 600).astype(np.int64) % 6)
    frame = pl.DataFrame({"n": names, "p": pick, "b": branch})
    n = pl.col("n")
    return frame.select(
        pl.when(pl.col("p") == 0).then(n.str.replace(legal, ""))
        .when(pl.col("p") == 1).then(n.str.replace("市", "", literal=True, n=1))
        .when(pl.col("p") == 2).then(n.str.replace(r"^[^市]+市", ""))
        .when(pl.col("p") == 3).then(
            pl.when(n.str.ends_with("股份有限公司")).then(n.str.replace(legal, "有限公司"))
            .otherwise(n.str.replace(legal, "股份有限公司")))
        .otherwise(pl.concat_str([n, pl.col("b"), pl.lit("分公司")]))
    ).to_series()


def _spaced(names: pl.Series, u: np.ndarray, latin: np.ndarray) -> pl.Series:
    pick = np.floor(u * 4).astype(np.int64)
    frame = pl.DataFrame({"n": names, "p": pick, "latin": latin})
    n = pl.col("n")
    return frame.select(
        pl.when(pl.col("latin") & (pl.col("p") <= 1)).then(n.str.replace(" ", "  ", literal=True))
        .when(pl.col("p") == 0).then(n.str.replace(r"^(.)", "$1 "))
        .when(pl.col("p") == 1).then(n.str.replace(r"^(.)", "$1\u3000"))
        .when(pl.col("p") == 2).then(pl.concat_str([n, pl.lit(" ")]))
        .otherwise(pl.concat_str([pl.lit(" "), n, pl.lit("  ")]))
    ).to_series()


# --------------------------------------------------------------------------- mobiles


def render_mobiles(rng: np.random.Generator, person: np.ndarray, day: np.ndarray, people: pl.DataFrame,
                   log: NoiseLog) -> pl.Series:
    n = len(person)
    changed = day >= people["phone_change_day"].to_numpy()[person]
    number = np.where(changed, people["new_mobile"].to_numpy()[person], people["mobile"].to_numpy()[person])
    u, u_form = rng.random(n), rng.random(n)
    missing = u < MOBILE_MISSING
    typo = ~missing & (u < MOBILE_MISSING + MOBILE_TYPO)
    formatted = ~missing & ~typo & (u < MOBILE_MISSING + MOBILE_TYPO + MOBILE_FORMAT)
    extension = ~missing & ~typo & ~formatted & (u < MOBILE_MISSING + MOBILE_TYPO + MOBILE_FORMAT + MOBILE_EXTENSION)
    every = np.ones(n, bool)
    log.record("mobile_missing", missing, every)
    log.record("mobile_typo", typo, every)
    log.record("mobile_format", formatted, every)
    log.record("mobile_extension", extension, every)
    log.record("phone_changed", changed & ~missing, 0)

    frame = pl.DataFrame({"m": pl.Series(number).cast(pl.String), "u": u_form,
                          "missing": missing, "typo": typo, "fmt": formatted, "ext": extension})
    m = pl.col("m")
    head, mid, tail = m.str.slice(0, 3), m.str.slice(3, 4), m.str.slice(7, 4)
    drop_at = (pl.col("u") * 10).floor().cast(pl.Int64) + 1
    variant = (pl.col("u") * 6).floor()
    full_width = m.str.replace_many([str(d) for d in range(10)], [chr(0xFF10 + d) for d in range(10)])
    return frame.select(
        pl.when("missing").then(pl.lit(None, pl.String))
        .when("typo").then(pl.concat_str([m.str.slice(0, drop_at), m.str.slice(drop_at + 1)]))
        .when(pl.col("fmt") & (variant == 0)).then(pl.concat_str([pl.lit("+86 "), head, pl.lit("-"), mid, pl.lit("-"), tail]))
        .when(pl.col("fmt") & (variant == 1)).then(pl.concat_str([pl.lit("0086 "), m]))
        .when(pl.col("fmt") & (variant == 2)).then(pl.concat_str([head, mid, tail], separator=" "))
        .when(pl.col("fmt") & (variant == 3)).then(pl.concat_str([head, mid, tail], separator="-"))
        .when(pl.col("fmt") & (variant == 4)).then(pl.concat_str([pl.lit("+86"), m]))
        .when("fmt").then(full_width)
        .when(pl.col("ext") & (variant <= 1)).then(pl.concat_str([head, mid, tail, pl.lit("转"), drop_at.cast(pl.String)],
                                                                 separator=" "))
        .when(pl.col("ext") & (variant <= 3)).then(pl.concat_str([m, drop_at.cast(pl.String)], separator="-"))
        .when("ext").then(pl.concat_str([m, pl.lit(" ext. "), drop_at.cast(pl.String)]))
        .otherwise(m)
    ).to_series()


# --------------------------------------------------------------------------- ID numbers


def render_ids(rng: np.random.Generator, person: np.ndarray, people: pl.DataFrame, traits: NameTraits,
               log: NoiseLog) -> pl.Series:
    n = len(person)
    ids = people["id_number"].gather(person)
    company = traits.is_company[person]
    u_missing, u_bad, u_lower, u_shift = (rng.random(n) for _ in range(4))
    missing = u_missing < ID_MISSING
    log.record("id_missing", missing, np.ones(n, bool))
    present = ~missing
    bad = present & (u_bad < ID_BAD_CHECK)
    log.record("id_bad_check", bad, present)
    ends_x = ids.str.ends_with("X").to_numpy() & ~company
    lower_ok = present & ~bad & ends_x
    lower = lower_ok & (u_lower < ID_LOWERCASE_X)
    log.record("id_lowercase_x", lower, lower_ok)

    frame = pl.DataFrame({"id": ids, "company": company, "shift": u_shift, "bad": bad, "lower": lower,
                          "missing": missing})
    last = pl.col("id").str.slice(17, 1)
    ric_value = last.replace_strict(list(_RIC_CHECK), list(range(11)), default=0)
    uscc_value = last.replace_strict(list(_USCC), list(range(31)), default=0)
    wrong_ric = ((ric_value + 1 + (pl.col("shift") * 10).floor().cast(pl.Int64)) % 11).replace_strict(
        list(range(11)), list(_RIC_CHECK))
    wrong_uscc = ((uscc_value + 1 + (pl.col("shift") * 30).floor().cast(pl.Int64)) % 31).replace_strict(
        list(range(31)), list(_USCC))
    body = pl.col("id").str.slice(0, 17)
    return frame.select(
        pl.when("missing").then(pl.lit(None, pl.String))
        .when(pl.col("bad") & pl.col("company")).then(pl.concat_str([body, wrong_uscc]))
        .when("bad").then(pl.concat_str([body, wrong_ric]))
        .when("lower").then(pl.col("id").str.to_lowercase())
        .otherwise(pl.col("id"))
    ).to_series()


# --------------------------------------------------------------------------- VINs


def render_vins(rng: np.random.Generator, vins: pl.Series, optional: bool, blank: np.ndarray,
                log: NoiseLog) -> pl.Series:
    n = vins.len()
    u_missing, u_bad, u_lower, u_wide, u_how = (rng.random(n) for _ in range(5))
    if optional:
        missing = ~blank & (u_missing < VIN_MISSING)
        log.record("vin_missing", missing, ~blank)
    else:
        missing = np.zeros(n, bool)
    present = ~blank & ~missing
    bad = present & (u_bad < VIN_INVALID)
    lower = present & (u_lower < VIN_LOWERCASE)
    wide = present & ~lower & (u_wide < VIN_FULLWIDTH)
    log.record("vin_invalid", bad, present)
    log.record("vin_lowercase", lower, present)
    log.record("vin_fullwidth", wide, present & ~lower)

    # Half the invalid VINs get I, O or Q typed for 1, 0 or another character; half a wrong check digit.
    position = np.where(u_how < 0.5, 3 + np.floor(u_how * 10).astype(np.int64) % 5, 8)
    letter = pl.Series(["I", "O", "Q"]).gather(np.floor(u_how * 300).astype(np.int64) % 3)
    frame = pl.DataFrame({"v": vins, "pos": position, "letter": letter, "u": u_how,
                          "bad": bad, "lower": lower, "wide": wide, "gone": missing | blank})
    v, pos = pl.col("v"), pl.col("pos")
    check = v.str.slice(8, 1)
    wrong_check = pl.when(check == "X").then(pl.lit("0")).otherwise(
        ((check.cast(pl.Int64, strict=False).fill_null(0) + 1 + (pl.col("u") * 9).floor().cast(pl.Int64)) % 10)
        .cast(pl.String))
    replacement = pl.when(pos == 8).then(wrong_check).otherwise(pl.col("letter"))
    broken = pl.concat_str([v.str.slice(0, pos), replacement, v.str.slice(pos + 1)])
    out = frame.select(pl.when("bad").then(broken).otherwise(v).alias("v"), "lower", "wide", "gone")
    return out.select(
        pl.when("gone").then(pl.lit(None, pl.String))
        .when("lower").then(pl.col("v").str.to_lowercase())
        .when("wide").then(pl.col("v").str.replace_many(list(_FULL_WIDTH), list(_FULL_WIDTH.values())))
        .otherwise(pl.col("v"))
    ).to_series()


# --------------------------------------------------------------------------- invalid rows


def choose_invalid(rng: np.random.Generator, n: int, kinds: tuple[str, ...], log: NoiseLog) -> list[np.ndarray]:
    """Per kind, which records are made invalid (disjoint; INVALID_ROW_RATE in total)."""
    u, pick = rng.random(n), np.floor(rng.random(n) * len(kinds)).astype(np.int64)
    invalid = u < INVALID_ROW_RATE
    masks = []
    for i, kind in enumerate(kinds):
        mask = invalid & (pick == i)
        log.record(kind, mask, n)
        masks.append(mask)
    return masks
