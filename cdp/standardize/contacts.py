"""Phones, resident IDs, credit codes, VINs, plates and addresses."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from functools import lru_cache

import phonenumbers
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError
from vininfo import Vin

from cdp.standardize import VALUE_CACHE_SIZE

MOBILE = re.compile(r"^1[3-9]\d{9}$")
_NON_DIGIT = re.compile(r"[^\d+]")
_VIN_CHARS = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")
PLATE = re.compile(r"^[\u4e00-\u9fff][A-Z][A-Z0-9]{5,6}$")
_PROVINCE = re.compile(r"^(.{2,3}?(省|自治区))")
_CITY = re.compile(r"^(?:.{2,3}?(?:省|自治区))?(.{2,3}?市)")
_DISTRICT = re.compile(r"市(.{1,4}?(区|县))")
_MUNICIPALITIES = ("北京", "上海", "天津", "重庆")


def _nfkc(value: str | None) -> str | None:
    if value is None:
        return None
    text = unicodedata.normalize("NFKC", value).strip()
    return text or None


# An extension written after the number: "转 8", "分机 8", "ext. 8", "x8", "#8".
_EXTENSION = re.compile(r"\s*(?:转|分机|ext\.?|ex\.?|x|#)\s*\d{1,6}\s*$", re.IGNORECASE)
_MAX_EXTENSION_DIGITS = 6


def _mobile_in_groups(text: str) -> str | None:
    """The mobile when the digit groups start with one (+86 / 0086 allowed) and only a short
    extension group follows: "138-0013-8000-8" → 13800138000. A digit run longer than 11 with
    no separator stays ambiguous (a typo), and so does a 10-digit number."""
    groups = re.findall(r"\d+", text)
    if groups and groups[0] in ("86", "0086"):
        groups = groups[1:]
    digits = ""
    for i, group in enumerate(groups):
        digits += group
        if len(digits) >= 11:
            rest = "".join(groups[i + 1:])
            if len(digits) == 11 and MOBILE.match(digits) and 0 < len(rest) <= _MAX_EXTENSION_DIGITS:
                return digits
            return None
    return None


@lru_cache(maxsize=VALUE_CACHE_SIZE)
def standardize_phone(raw: str | None) -> tuple[str | None, str | None]:
    """Return (canonical number, kind) with kind 'mobile', 'landline' or 'invalid'.

    Mobiles become 11 digits (``+86 138-0013-8000`` → ``13800138000``, an extension such as
    ``转 8`` or ``-8`` dropped); landlines keep their E.164 form and are flagged so they never act
    as a personal key.
    """
    text = _nfkc(raw)
    if text is None:
        return None, None
    if "*" in text:  # masked by a platform (138****5678): no number to dial or to match on
        return None, "invalid"
    text = _EXTENSION.sub("", text) or text
    digits = _NON_DIGIT.sub("", text).lstrip("+")
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
            digits = digits[len(prefix):]
    if MOBILE.match(digits):
        return digits, "mobile"
    with_extension = _mobile_in_groups(text)
    if with_extension:
        return with_extension, "mobile"
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        return None, "invalid"
    if phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.FIXED_LINE:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), "landline"
    return None, "invalid"


@lru_cache(maxsize=VALUE_CACHE_SIZE)
def standardize_id_number(raw: str | None) -> tuple[str | None, str | None, date | None, str | None, str | None]:
    """Return (id, kind, birth date, gender, region code) for a resident ID or credit code.

    Invalid numbers give (None, 'invalid', …): they stay in the raw layer but never act as a key.
    """
    text = _nfkc(raw)
    if text is None:
        return None, None, None, None, None
    text = text.replace(" ", "").upper()
    born = _resident_birth_date(text) if len(text) == 18 else None
    if born:
        gender = "M" if int(text[16]) % 2 else "F"
        return text, "resident", born, gender, text[:6]
    if len(text) == 18 and uscc.is_valid(text):
        return text, "uscc", None, None, text[2:8]
    return None, "invalid", None, None, None


_RAW_ID = re.compile(r"^[0-9A-Z]{15,18}$")


@lru_cache(maxsize=VALUE_CACHE_SIZE)
def normalize_id_raw(raw: str | None) -> str | None:
    """The ID number as typed, normalized (width, case, spaces, dashes) whether or not it passes
    its check: a typo is still evidence, at a weaker level than a checked number."""
    text = _nfkc(raw)
    if text is None:
        return None
    text = re.sub(r"[\s\-]", "", text).upper()
    return text if _RAW_ID.match(text) else None


def _resident_birth_date(text: str) -> date | None:
    """The birth date of a valid resident ID, else None: `ric.is_valid` (GB 11643 check digit,
    birth date, region code assigned at birth) without its per-call costs — stdnum re-cleans the
    text in every helper and searches its region database each time (~90 µs an ID); here the
    region check is cached per (region, birth year)."""
    if not text[:17].isdigit() or text[-1] != ric.calc_check_digit(text):
        return None
    try:
        born = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return None
    return born if known_birth_place(text[:6], text[6:10]) else None


@lru_cache(maxsize=VALUE_CACHE_SIZE)
def known_birth_place(region: str, year: str) -> bool:
    try:  # get_birth_place reads only the region code and the birth year
        return bool(ric.get_birth_place(f"{region}{year}0101"))
    except (ValidationError, KeyError):  # KeyError: stdnum on a province/city code (no county)
        return False


def id_number_and_raw(raw: str | None) -> tuple:
    """standardize_id_number's outputs and the number as typed, normalized (normalize_id_raw)."""
    return (*standardize_id_number(raw), normalize_id_raw(raw))


_RAW_VIN = re.compile(r"^[A-Z0-9]{17}$")


@lru_cache(maxsize=VALUE_CACHE_SIZE)
def normalize_vin_raw(raw: str | None) -> str | None:
    """The VIN as typed, normalized (width, case, spaces, dashes), 17 characters whatever their
    check: a VIN with an O for a 0 or a wrong check digit still identifies the car, more weakly."""
    text = standardize_vin(raw)[0]
    return text if text and _RAW_VIN.match(text) else None


@lru_cache(maxsize=VALUE_CACHE_SIZE)
def standardize_vin(raw: str | None) -> tuple[str | None, bool]:
    """Return (uppercase VIN, is_valid). A valid VIN (alphabet + check digit) is the golden value;
    `normalize_vin_raw` keeps the others for weaker comparison."""
    text = _nfkc(raw)
    if text is None:
        return None, False
    text = re.sub(r"[\s\-]", "", text).upper()
    if not _VIN_CHARS.match(text):
        return text, False
    return text, bool(Vin(text).verify_checksum())


def vin_and_raw(raw: str | None) -> tuple:
    """standardize_vin's outputs and the VIN as typed, normalized (normalize_vin_raw)."""
    return (*standardize_vin(raw), normalize_vin_raw(raw))


_EMAIL = re.compile(r"^[a-z0-9._%+\-]+@[a-z0-9.\-]+\.[a-z]{2,}$")


def standardize_email(raw: str | None) -> str | None:
    """Lower-cased, trimmed, full-width folded; None unless it looks like an address."""
    text = _nfkc(raw)
    if text is None:
        return None
    text = text.replace(" ", "").lower()
    return text if _EMAIL.match(text) else None


def email_alone(raw: str | None) -> tuple[str | None]:
    """The e-mail standardizer's one output as the tuple `distinct_lookup` reads."""
    return (standardize_email(raw),)


def standardize_plate(raw: str | None) -> str | None:
    text = _nfkc(raw)
    if text is None:
        return None
    text = re.sub(r"[\s\-·.]", "", text).upper()
    return text if PLATE.match(text) else None


def plate_alone(raw: str | None) -> tuple[str | None]:
    """The plate standardizer's one output as the tuple `distinct_lookup` reads."""
    return (standardize_plate(raw),)


@lru_cache(maxsize=VALUE_CACHE_SIZE)
def split_address(raw: str | None) -> tuple[str | None, str | None, str | None]:
    """Split a Chinese address into (province, city, district) where the text allows it."""
    text = _nfkc(raw)
    if text is None:
        return None, None, None
    text = text.replace(" ", "")
    for name in _MUNICIPALITIES:
        if text.startswith(name):
            district = _DISTRICT.search(text)
            return name, name, district.group(1) if district else None
    province = _PROVINCE.match(text)
    city = _CITY.match(text)
    district = _DISTRICT.search(text)
    return (
        province.group(1).removesuffix("省") if province else None,
        city.group(1).removesuffix("市") if city else None,
        district.group(1) if district else None,
    )
