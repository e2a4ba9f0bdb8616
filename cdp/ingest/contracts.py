"""Source contracts (assets/<source>.yaml) and the canonical data dictionary (assets/dictionary.yaml)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from cdp.paths import ASSETS_DIR

FORMATS = ("csv", "excel", "parquet")
TYPES = ("string", "date", "integer", "decimal")
DICTIONARY_FILE = "dictionary.yaml"


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
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
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
    return Contract(
        source=raw["source"], description=raw.get("description", ""), files=raw["files"], format=raw["format"],
        primary_key=raw["primary_key"], required=required, fields=fields,
        types={f: dictionary[f] for f in fields}, encoding=raw.get("encoding", "auto"), sheet=raw.get("sheet"),
        date_formats=tuple(raw.get("date_formats", ["%Y-%m-%d"])), path=path,
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
        contract = _contract_from(path, yaml.safe_load(path.read_text(encoding="utf-8")), dictionary)
        if contract.source in contracts:
            raise ContractError(f"{path}: source {contract.source!r} is already declared by {contracts[contract.source].path}")
        contracts[contract.source] = contract
    return contracts
