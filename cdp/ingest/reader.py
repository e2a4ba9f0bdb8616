"""Read every landing file of a contract into one all-string frame with lineage columns.

Values stay strings here: typing, parsing and range checks are the quality gate's job, so a bad
value quarantines its row instead of failing the load.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl

from cdp.ingest.contracts import Contract

LINEAGE = ("_source_file", "_source_row", "_load_id")
AUTO_ENCODINGS = ("utf-8-sig", "gb18030")


class SourceFileError(Exception):
    """A file that cannot be loaded; names the file, and the row and field where known."""

    def __init__(self, file: Path | str, message: str, row: int | None = None, field: str | None = None):
        self.file, self.row, self.field = str(file), row, field
        where = ", ".join(p for p in (f"row {row}" if row else "", f"field {field!r}" if field else "") if p)
        super().__init__(f"{file}{' (' + where + ')' if where else ''}: {message}")


def _decode(path: Path, name: str, encoding: str) -> str:
    data = path.read_bytes()
    if not data.strip():
        raise SourceFileError(name, "the file is empty; ask the store to export it again")
    return decode(data, name, encoding)[0]


def decode(data: bytes, name: str, encoding: str) -> tuple[str, str]:
    """(text, the encoding that read it): the contract's encoding, or the first of AUTO_ENCODINGS that fits."""
    for candidate in (AUTO_ENCODINGS if encoding == "auto" else (encoding,)):
        try:
            return data.decode(candidate), candidate
        except UnicodeDecodeError as err:
            failure = (candidate, err)
    candidate, err = failure
    row = data[: err.start].count(b"\n") + 1
    raise SourceFileError(
        name, f"bytes {data[err.start:err.start + 4]!r} are not valid {candidate}; "
              f"fix the contract's encoding or re-export the file as {candidate}", row=row,
    )


def _check_complete(text: str, name: str) -> None:
    """A CSV cut off mid-row (no final line end, fewer fields than the header) is truncated."""
    if text.endswith(("\n", "\r")):
        return
    lines = text.splitlines()
    if len(lines) < 2:
        return
    header, last = (next(csv.reader([line])) for line in (lines[0], lines[-1]))
    if len(last) < len(header):
        raise SourceFileError(name, f"the file ends mid-row ({len(last)} of {len(header)} fields, no line end): "
                                    "it looks truncated; ask the store for the complete export",
                              row=len(lines), field=header[len(last)].strip() if len(last) else None)


def _read_file(contract: Contract, path: Path, name: str) -> tuple[pl.DataFrame, int]:
    """Return (all-string frame with the file's own headers, number of the first data row)."""
    if contract.format == "csv":
        text = _decode(path, name, contract.encoding)
        _check_complete(text, name)
        try:
            return pl.read_csv(io.BytesIO(text.encode("utf-8")), infer_schema=False, truncate_ragged_lines=False), 2
        except pl.exceptions.ComputeError as err:
            raise SourceFileError(name, f"not a well-formed CSV ({str(err).splitlines()[0]}); is the file truncated?") from err
    if contract.format == "excel":
        if path.stat().st_size == 0:
            raise SourceFileError(name, "the file is empty; ask the store to export it again")
        try:
            frame = pl.read_excel(path, sheet_name=contract.sheet, engine="calamine", infer_schema_length=0)
        except Exception as err:  # calamine raises its own types for missing sheets and broken zips
            raise SourceFileError(name, f"cannot read sheet {contract.sheet!r}: {err}") from err
        # Number cells come back as "12345.0": integers are written without the trailing .0
        return frame.with_columns(pl.all().cast(pl.Utf8).str.replace(r"^(-?\d+)\.0$", "${1}")), 2
    try:
        frame = pl.read_parquet(path)
    except Exception as err:
        raise SourceFileError(name, f"not a readable Parquet file: {err}") from err
    return frame.with_columns(pl.all().cast(pl.Utf8)), 1


def _canonical(contract: Contract, name: str, frame: pl.DataFrame) -> pl.DataFrame:
    aliases = contract.alias_map()
    headers = {str(h).strip().lstrip("\ufeff"): h for h in frame.columns}
    mapped = {}
    for header, original in headers.items():
        canonical = aliases.get(header)
        if canonical and canonical not in mapped:
            mapped[canonical] = original
    missing = [f for f in contract.required if f not in mapped]
    if missing:
        expected = {f: list(contract.fields[f]) for f in missing}
        raise SourceFileError(
            name, f"required column missing: {expected} (one of the listed headers); "
                  f"add the store's header name to assets/{contract.source}.yaml if it was renamed",
            row=1, field=missing[0],
        )
    return frame.select(
        [pl.col(mapped[f]).alias(f) if f in mapped else pl.lit(None, pl.Utf8).alias(f) for f in contract.fields]
    )


def read_file(contract: Contract, path: Path, name: str, load_id: str) -> pl.DataFrame:
    """One file as canonical all-string columns plus lineage; `name` is the file as delivered."""
    frame, first_row = _read_file(contract, path, name)  # a header-only export (no activity) is valid
    if not frame.columns:
        raise SourceFileError(name, "the file has no header row; ask the store to export it again")
    frame = _canonical(contract, name, frame).with_columns(
        pl.all().str.strip_chars().replace("", None)
    )
    return frame.with_columns(
        pl.lit(name).alias("_source_file"),
        (pl.int_range(pl.len(), dtype=pl.Int64) + first_row).alias("_source_row"),
        pl.lit(load_id).alias("_load_id"),
    )


def source_files(contract: Contract, landing: Path) -> list[Path]:
    return sorted(p for p in landing.glob(contract.files) if p.is_file())


def load_files(contract: Contract, files: list[tuple[Path, str]], load_id: str) -> tuple[pl.DataFrame, list[SourceFileError]]:
    """Every readable file of (path to read, name as delivered), and the files that could not be read.

    A bad file fails only its own load: the others still load, and the rejection is reported.
    """
    frames, rejected = [], []
    for path, name in files:
        try:
            if not path.exists():
                raise SourceFileError(name, f"its delivered copy {path} is missing; deliver the file again")
            frames.append(read_file(contract, path, name, load_id))
        except SourceFileError as err:
            rejected.append(err)
    if not frames:
        return empty_raw(contract), rejected
    return pl.concat(frames, how="vertical"), rejected


def empty_raw(contract: Contract) -> pl.DataFrame:
    return pl.DataFrame(schema={f: pl.Utf8 for f in contract.fields}
                        | {"_source_file": pl.Utf8, "_source_row": pl.Int64, "_load_id": pl.Utf8})


def load_source(contract: Contract, landing: Path, load_id: str) -> tuple[pl.DataFrame, list[SourceFileError]]:
    """Every file the contract matches in a folder (tools and benchmarks; the pipeline loads deliveries)."""
    files = source_files(contract, landing)
    if not files:
        raise SourceFileError(landing / contract.files, f"no files match {contract.files!r} in {landing}")
    return load_files(contract, [(p, str(p.relative_to(landing))) for p in files], load_id)


def read_source(contract: Contract, landing: Path, load_id: str) -> pl.DataFrame:
    """All files of one contract; raises on the first file that cannot be read."""
    frame, rejected = load_source(contract, landing, load_id)
    if rejected:
        raise rejected[0]
    return frame


def rejected_frame(source: str, rejected: list[SourceFileError], load_id: str) -> pl.DataFrame:
    return pl.DataFrame(
        [{"source": source, "file": e.file, "row": e.row, "field": e.field, "message": str(e), "load_id": load_id}
         for e in rejected],
        schema={"source": pl.Utf8, "file": pl.Utf8, "row": pl.Int64, "field": pl.Utf8, "message": pl.Utf8, "load_id": pl.Utf8},
    )


def write_raw(frame: pl.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(path, compression="zstd")
