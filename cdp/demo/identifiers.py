"""Vectorised generators for identifiers with real structure and check characters.

VIN (ISO 3779 / GB 16735), resident ID (GB 11643, ISO 7064 MOD 11-2), unified social credit
code (GB 32100), mainland mobiles and licence plates. Generators take numpy arrays and return
polars String Series (or packed integers where distinctness must be checked first).
"""

from __future__ import annotations

import numpy as np
import polars as pl

# The standards' tables, as the standardizers check them
from cdp.standardize.vectorized import RESIDENT_WEIGHTS, USCC_ALPHABET, USCC_WEIGHTS, VIN_VALUES, VIN_WEIGHTS

VIN_ALPHABET = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"  # no I, O, Q
_VIN_WEIGHTS = np.array(VIN_WEIGHTS, np.int64)
# Model-year character (position 10): 2010 = A … skipping I O Q U Z 0.
_MODEL_YEAR_CHARS = "ABCDEFGHJKLMNPRSTVWXY123456789"
_VIN_VALUE_TABLE = np.zeros(128, np.int64)
for _ch, _v in VIN_VALUES.items():
    _VIN_VALUE_TABLE[ord(_ch)] = _v

_USCC_WEIGHTS = np.array(USCC_WEIGHTS, np.int64)
_ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], np.int64)
_RIC_WEIGHTS = np.array(RESIDENT_WEIGHTS, np.int64)

PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # plates skip I and O
PLATE_CHARS = PLATE_LETTERS + "0123456789"


def model_year_char(year: np.ndarray) -> np.ndarray:
    return np.frombuffer(_MODEL_YEAR_CHARS.encode(), np.uint8)[(year - 2010) % 30]


def _to_strings(codes: np.ndarray) -> pl.Series:
    """(n, k) uint8 ASCII matrix → String Series."""
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    return pl.Series(codes.view(f"S{codes.shape[1]}").ravel()).cast(pl.String)


def vin_check_values(codes: np.ndarray) -> np.ndarray:
    """Check character (ASCII code) for an (n, 17) VIN matrix; position 9 is ignored."""
    total = (_VIN_VALUE_TABLE[codes] * _VIN_WEIGHTS).sum(axis=1) % 11
    return np.where(total == 10, ord("X"), ord("0") + total).astype(np.uint8)


def make_vins(wmi: np.ndarray, vds: np.ndarray, model_year: np.ndarray, plant: np.ndarray,
              serial: np.ndarray) -> pl.Series:
    """VINs from parts: wmi (n,3) and vds (n,5) ASCII, model year ints, plant ASCII, serial < 1e6."""
    n = len(serial)
    codes = np.empty((n, 17), np.uint8)
    codes[:, 0:3] = wmi
    codes[:, 3:8] = vds
    codes[:, 9] = model_year_char(model_year)
    codes[:, 10] = plant
    for pos in range(6):
        codes[:, 16 - pos] = ord("0") + (serial // 10**pos) % 10
    codes[:, 8] = ord("0")
    codes[:, 8] = vin_check_values(codes)
    return _to_strings(codes)


def make_resident_ids(region: np.ndarray, birth_days: np.ndarray, sequence: np.ndarray) -> pl.Series:
    """Resident IDs: 6-digit region, birth date (days since 1970-01-01), 3-digit sequence (odd = male)."""
    birth = pl.Series(birth_days.astype(np.int32)).cast(pl.Date).dt.strftime("%Y%m%d").cast(pl.Int64).to_numpy()
    body = region.astype(np.int64) * 10**11 + birth * 1000 + sequence.astype(np.int64)
    digits = np.empty((len(body), 18), np.uint8)
    rest = body.copy()
    for pos in range(16, -1, -1):
        digits[:, pos] = rest % 10
        rest //= 10
    check = (12 - (digits[:, :17].astype(np.int64) * _RIC_WEIGHTS).sum(axis=1) % 11) % 11
    codes = digits + ord("0")
    codes[:, 17] = np.where(check == 10, ord("X"), ord("0") + check)
    return _to_strings(codes)


def make_usccs(region: np.ndarray, org_body: np.ndarray) -> pl.Series:
    """Unified social credit codes: 9 (market regulator) 1 (enterprise) + region + organisation code.

    org_body is an (n, 8) matrix of digit values 0-9 (organisation code body, GB 11714); its
    check character and the USCC check character are computed.
    """
    n = len(region)
    values = np.empty((n, 18), np.int64)
    values[:, 0], values[:, 1] = 9, 1
    rest = region.astype(np.int64).copy()
    for pos in range(7, 1, -1):
        values[:, pos] = rest % 10
        rest //= 10
    values[:, 8:16] = org_body
    org_check = 11 - (org_body * _ORG_WEIGHTS).sum(axis=1) % 11
    # Organisation-code check: 10 → X, 11 → 0. X is a valid USCC character (value 28).
    values[:, 16] = np.where(org_check == 11, 0, np.where(org_check == 10, USCC_ALPHABET.index("X"), org_check))
    values[:, 17] = (31 - (values[:, :17] * _USCC_WEIGHTS).sum(axis=1) % 31) % 31
    alphabet = np.frombuffer(USCC_ALPHABET.encode(), np.uint8)
    return _to_strings(alphabet[values])


def make_mobiles(rng: np.random.Generator, n: int, prefixes: tuple[int, ...]) -> np.ndarray:
    """n distinct 11-digit mobiles as int64 (carrier prefix + 8 random digits)."""
    return distinct(lambda k: rng.choice(np.array(prefixes, np.int64), k) * 10**8 + rng.integers(0, 10**8, k), n)


def distinct(draw, n: int) -> np.ndarray:
    """Draw n values, redrawing collisions until all are distinct (order of first draws kept)."""
    values = draw(n)
    for _ in range(50):
        _, first = np.unique(values, return_index=True)
        duplicate = np.ones(n, bool)
        duplicate[first] = False
        if not duplicate.any():
            return values
        values[duplicate] = draw(int(duplicate.sum()))
    raise RuntimeError("could not draw distinct identifiers: value space too small")


def make_plates(rng: np.random.Generator, prefix_codes: np.ndarray, nev: np.ndarray) -> np.ndarray:
    """Distinct plate serials (prefix index, new-energy flag and body packed in one int) for `plate_strings`.

    Ordinary plates: 3 letters-or-digits + 2 digits (34³·100 per prefix);
    new-energy plates: D (battery) / F (hybrid) + letter-or-digit + 4 digits.
    A serial packs (prefix, nev, body) so distinctness over serials is distinctness of plates.
    """
    n = len(nev)

    def draw(k: int, subset: np.ndarray) -> np.ndarray:
        body_ordinary = rng.integers(0, 34**3 * 100, k)
        body_nev = rng.integers(0, 2 * 34 * 10**4, k)
        body = np.where(nev[subset], body_nev, body_ordinary)
        return (prefix_codes[subset].astype(np.int64) * 2 + nev[subset]) * 10**8 + body

    serial = draw(n, np.arange(n))
    for _ in range(50):
        _, first = np.unique(serial, return_index=True)
        duplicate = np.ones(n, bool)
        duplicate[first] = False
        if not duplicate.any():
            return serial
        serial[duplicate] = draw(int(duplicate.sum()), np.flatnonzero(duplicate))
    raise RuntimeError("could not draw distinct plates")


def plate_strings(serial: np.ndarray, prefixes: tuple[str, ...]) -> pl.Series:
    """Render plate serials from `make_plates` as 粤A1B2C34 / 粤AD12345."""
    body = serial % 10**8
    nev = (serial // 10**8) % 2 == 1
    prefix = serial // 10**8 // 2
    chars = np.frombuffer(PLATE_CHARS.encode(), np.uint8)
    out = np.empty((len(serial), 6), np.uint8)
    # ordinary: c1 c2 c3 ∈ PLATE_CHARS, c4 c5 digits
    out[:, 0] = chars[(body // (34 * 34 * 100)) % 34]
    out[:, 1] = chars[(body // (34 * 100)) % 34]
    out[:, 2] = chars[(body // 100) % 34]
    out[:, 3] = ord("0") + (body // 10) % 10
    out[:, 4] = ord("0") + body % 10
    out[:, 5] = ord(" ")
    nev_out = np.empty_like(out)
    nev_out[:, 0] = np.where(body // (34 * 10**4) == 0, ord("D"), ord("F"))
    nev_out[:, 1] = chars[(body // 10**4) % 34]
    for pos in range(4):
        nev_out[:, 5 - pos] = ord("0") + (body // 10**pos) % 10
    out = np.where(nev[:, None], nev_out, out)
    tails = _to_strings(out).str.strip_chars_end(" ")
    heads = pl.Series(prefixes, dtype=pl.String).gather(prefix)
    return heads + tails
