"""Source contracts (assets/<source>.yaml) and the canonical data dictionary (assets/dictionary.yaml)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from cdp.paths import ASSETS_DIR
from cdp.yamlfile import read_yaml

FORMATS = ("csv", "excel", "parquet")
# What a source's records are to identity resolution: `customer` records are matched by Splink into
# customers; `lead` records are weak evidence, linked to a customer or kept as prospects
# (cdp/identity/leads.py) and never merge customers; `none` carries no person (e.g. follow-up events).
IDENTITY_ROLES = ("customer", "lead", "none")
TYPES = ("string", "date", "integer", "decimal")
DICTIONARY_FILE = "dictionary.yaml"
# Size limits, checked before a file is hashed, archived or read. The reader holds a file in memory
# several times over (bytes, text, frame): 5.1x a CSV's size, 3.4x a sheet's unpacked XML
# (bench/bad_input_bench.py), so the defaults keep one file within about 7 GB. A workbook is a zip:
# what counts is its sheet unpacked, checked from the zip's directory and again while it is streamed.
DEFAULT_MAX_BYTES = 1 << 30
DEFAULT_MAX_UNPACKED_BYTES = 2 << 30
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?\s*$", re.IGNORECASE)
_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40}


class ContractError(ValueError):
    """A contract or the dictionary is malformed; the message names the file and the key."""


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    pii: str
    meaning: str
    values: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    format: str | None = None
    future_allowed: bool = False  # dates such as policy end dates lie ahead by nature


@dataclass(frozen=True)
class Contract:
    source: str
    description: str
    files: str
    format: str
    primary_key: str
    required: tuple[str, ...]
    fields: dict[str, tuple[str, ...]]  # canonical field → header aliases
    types: dict[str, FieldSpec] = field(repr=False, default_factory=dict)
    encoding: str = "auto"
    sheet: str | None = None
    date_formats: tuple[str, ...] = ("%Y-%m-%d",)
    path: Path | None = None
    max_bytes: int = DEFAULT_MAX_BYTES  # a delivered file larger than this is refused unread
    max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES  # excel: the sheet XML (and shared strings) unpacked
    identity: str = "customer"  # one of IDENTITY_ROLES

    def alias_map(self) -> dict[str, str]:
        """Header (as exported) → canonical field."""
        return {alias: canonical for canonical, aliases in self.fields.items() for alias in aliases}

    @property
    def event_date(self) -> str | None:
        """The date a record happened on: the first required date field (freshness, ordering)."""
        return next((f for f in self.required if self.types[f].type == "date"), None)

    def fields_of_type(self, type_name: str) -> list[str]:
        return [f for f in self.fields if self.types[f].type == type_name]


def load_dictionary(path: Path = ASSETS_DIR / DICTIONARY_FILE) -> dict[str, FieldSpec]:
    raw = read_yaml(path)
    specs = {}
    for name, spec in (raw.get("fields") or {}).items():
        if spec.get("type") not in TYPES:
            raise ContractError(f"{path}: field {name!r} has type {spec.get('type')!r}; use one of {TYPES}")
        specs[name] = FieldSpec(
            name=name, type=spec["type"], pii=spec.get("pii", "none"), meaning=spec.get("meaning", ""),
            values=tuple(spec.get("values", ())), min=spec.get("min"), max=spec.get("max"), format=spec.get("format"),
            future_allowed=spec.get("future") == "allowed",
        )
    return specs


def parse_size(value, where: str) -> int:
    """Bytes from an int or a string such as "512 MB" or "2 GiB" (KB/MB/GB: 1000s; KiB/MiB/GiB: 1024s)."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    match = _SIZE.match(str(value))
    if not match or float(match.group(1)) <= 0:
        raise ContractError(f"{where}: {value!r} is not a size; write bytes (1073741824) or e.g. '512 MB', '1 GiB'")
    return int(float(match.group(1)) * _UNITS[(match.group(2) or "b").lower()])


def format_size(size: int, exact: bool = False) -> str:
    """"1.5 GiB"; with exact, the bytes first: "1,610,612,736 bytes (1.5 GiB)"."""
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor:
            human = f"{size / factor:,.1f} {unit}".replace(".0 ", " ")
            return f"{size:,} bytes ({human})" if exact else human
    return f"{size:,} bytes"


def _check_pattern(path: Path, files: str) -> None:
    """A contract's file pattern names files inside the landing folder, never beside or above it."""
    parts = Path(files).parts
    if Path(files).is_absolute() or files.startswith(("/", "\\", "~")) or ".." in parts or not parts:
        raise ContractError(f"{path}: files {files!r} must be a pattern inside the landing folder "
                            "(relative, without '..'), e.g. 'sales/*.csv'")


def _contract_from(path: Path, raw: dict, dictionary: dict[str, FieldSpec]) -> Contract:
    for key in ("source", "files", "format", "primary_key", "fields"):
        if key not in raw:
            raise ContractError(f"{path}: missing key {key!r}")
    if raw["format"] not in FORMATS:
        raise ContractError(f"{path}: format {raw['format']!r} is not one of {FORMATS}")
    fields = {name: tuple(aliases) for name, aliases in raw["fields"].items()}
    unknown = [f for f in fields if f not in dictionary]
    if unknown:
        raise ContractError(f"{path}: fields {unknown} are not in assets/{DICTIONARY_FILE}; add them there first")
    required = tuple(raw.get("required", [raw["primary_key"]]))
    for name in (raw["primary_key"], *required):
        if name not in fields:
            raise ContractError(f"{path}: {name!r} is required but has no header aliases under 'fields'")
    if raw["format"] == "excel" and not raw.get("sheet"):
        raise ContractError(f"{path}: excel contracts need a 'sheet'")
    _check_pattern(path, raw["files"])
    if raw.get("identity", "customer") not in IDENTITY_ROLES:
        raise ContractError(f"{path}: identity {raw['identity']!r} is not one of {IDENTITY_ROLES}")
    return Contract(
        source=raw["source"], description=raw.get("description", ""), files=raw["files"], format=raw["format"],
        primary_key=raw["primary_key"], required=required, fields=fields,
        types={f: dictionary[f] for f in fields}, encoding=raw.get("encoding", "auto"), sheet=raw.get("sheet"),
        date_formats=tuple(raw.get("date_formats", ["%Y-%m-%d"])), path=path,
        max_bytes=parse_size(raw.get("max_bytes", DEFAULT_MAX_BYTES), f"{path}: max_bytes"),
        max_unpacked_bytes=parse_size(raw.get("max_unpacked_bytes", DEFAULT_MAX_UNPACKED_BYTES),
                                      f"{path}: max_unpacked_bytes"),
        identity=raw.get("identity", "customer"),
    )


def load_contracts(directory: Path = ASSETS_DIR, dictionary_path: Path | None = None) -> dict[str, Contract]:
    """Every contract in `directory`; types come from the dictionary beside them, else the project's."""
    if dictionary_path is None:
        beside = directory / DICTIONARY_FILE
        dictionary_path = beside if beside.exists() else ASSETS_DIR / DICTIONARY_FILE
    dictionary = load_dictionary(dictionary_path)
    contracts = {}
    for path in sorted(directory.glob("*.yaml")):
        if path.name == DICTIONARY_FILE:
            continue
        contract = _contract_from(path, read_yaml(path), dictionary)
        if contract.source in contracts:
            raise ContractError(f"{path}: source {contract.source!r} is already declared by {contracts[contract.source].path}")
        contracts[contract.source] = contract
    return contracts
