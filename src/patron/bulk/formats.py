"""Reading import files: JSON Lines as they are, CSV through a fixed column mapping. Pure.

A JSONL line is one JSON object: a registration body, or an update body with a top-level
`lookup` object. A CSV record is turned into the registration body its columns describe
(`CSV_COLUMNS`, documented in docs/import-export.md, which a test keeps equal to
`csv_columns_markdown()`). Either way the body then takes the API's path.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from patron.orgs.model import IDENTIFIER_TYPES

Format = Literal["jsonl", "csv"]
FORMATS: tuple[Format, ...] = ("jsonl", "csv")

EXTENDED_PREFIX = "extended."
CUSTOM_PREFIX = "custom."

CSV_COLUMNS: dict[str, str] = {
    "source": "`profiles[0].source`; INSTORE when the cell is empty",
    "accountId": "`profiles[0].accountId`",
    "firstName": "`profiles[0].firstName`",
    "lastName": "`profiles[0].lastName`",
    **{
        t: f'`profiles[0].identifiers[]`: `{{"type": "{t}", "value": cell}}`'
        for t in IDENTIFIER_TYPES
    },
    "loyaltyType": "`loyaltyType`",
    "programId": "`loyaltyProgramEnrollments[0].programId` (an integer)",
    "tierNumber": "`loyaltyProgramEnrollments[0].tierNumber` (an integer)",
    "tierExpiryDate": "`loyaltyProgramEnrollments[0].tierExpiryDate`",
    "loyaltyPoints": "`loyaltyProgramEnrollments[0].loyaltyPoints` (an integer)",
}
"""The fixed CSV columns and the key of the registration body each one fills."""

_ENROLMENT_COLUMNS = {
    "programId": "programId",
    "tierNumber": "tierNumber",
    "tierExpiryDate": "tierExpiryDate",
    "loyaltyPoints": "loyaltyPoints",
}
_INTEGER_COLUMNS = frozenset({"programId", "tierNumber", "loyaltyPoints"})


class FileProblem(Exception):
    """The file cannot be imported at all (unreadable, unknown CSV column): a usage error."""


@dataclass(frozen=True, slots=True)
class Line:
    """One input record: its line number and its text (JSONL) or cells (CSV)."""

    number: int
    raw: bytes | dict[str, str]

    def __reduce__(self) -> tuple[type[Line], tuple[int, bytes | dict[str, str]]]:
        # Lines go to the preparing processes by pickle: a frozen dataclass with slots pickles
        # through `dataclasses.fields()` per object, several times slower than this.
        return (Line, (self.number, self.raw))


def guess_format(path: Path) -> Format:
    """`csv` for a `.csv` file, otherwise `jsonl`."""
    return "csv" if path.suffix.lower() == ".csv" else "jsonl"


def fingerprint(path: Path, fmt: Format) -> str:
    """The import's id: the first 32 hex digits of SHA-256 over the format and the file's bytes."""
    digest = hashlib.sha256(fmt.encode() + b"\0")
    try:
        with path.open("rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    except OSError as exc:
        raise FileProblem(f"{path}: cannot read the file: {exc}") from None
    return digest.hexdigest()[:32]


def read_lines(path: Path, fmt: Format, *, after: int = 0) -> Iterator[Line]:
    """Every record of the file after line `after` (blank JSONL lines are skipped)."""
    try:
        if fmt == "jsonl":
            yield from _jsonl(path, after)
        else:
            yield from _csv(path, after)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise FileProblem(f"{path}: cannot read the file: {exc}") from None


def count_lines(path: Path, fmt: Format) -> int:
    """How many records `read_lines` yields for the whole file."""
    if fmt == "jsonl":
        try:
            with path.open("rb") as f:
                return sum(1 for raw in f if raw.strip())
        except OSError as exc:
            raise FileProblem(f"{path}: cannot read the file: {exc}") from None
    return sum(1 for _ in read_lines(path, fmt))


def _jsonl(path: Path, after: int) -> Iterator[Line]:
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            if number > after and raw.strip():
                yield Line(number, raw.rstrip(b"\r\n"))


def check_header(header: list[str]) -> None:
    """FileProblem naming every CSV column the mapping does not know (or that repeats)."""
    unknown = [
        name
        for name in header
        if name not in CSV_COLUMNS
        and not (name.startswith((EXTENDED_PREFIX, CUSTOM_PREFIX)) and "." in name[:-1])
    ]
    if unknown:
        raise FileProblem(f"unknown CSV columns: {', '.join(unknown)} (see docs/import-export.md)")
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise FileProblem(f"CSV columns named twice: {', '.join(repeated)}")


def _csv(path: Path, after: int) -> Iterator[Line]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            return
        check_header(header)
        for cells in reader:
            # A record's number is the line it ends on, so a resume can count records again.
            number = reader.line_num
            if number > after and any(cells):
                yield Line(number, dict(zip(header, cells, strict=False)))


def _cell(value: str, column: str) -> Any:
    text = value.strip()
    if column in _INTEGER_COLUMNS and text.lstrip("+-").isdigit():
        return int(text)
    return text  # anything else stays a string; the body's shape check names it


def csv_body(cells: dict[str, str]) -> dict[str, Any]:
    """The registration body a CSV record describes; an empty cell leaves its key out."""
    profile: dict[str, Any] = {"source": cells.get("source", "").strip() or "INSTORE"}
    body: dict[str, Any] = {"profiles": [profile]}
    identifiers = []
    enrolment: dict[str, Any] = {}
    for column, value in cells.items():
        if value == "" or column == "source":
            continue
        if column in ("accountId", "firstName", "lastName"):
            profile[column] = value.strip()
        elif column in IDENTIFIER_TYPES:
            identifiers.append({"type": column, "value": value})
        elif column == "loyaltyType":
            body["loyaltyType"] = value.strip()
        elif column in _ENROLMENT_COLUMNS:
            enrolment[_ENROLMENT_COLUMNS[column]] = _cell(value, column)
        elif column.startswith(EXTENDED_PREFIX):
            body.setdefault("extendedFields", {})[column.removeprefix(EXTENDED_PREFIX)] = value
        elif column.startswith(CUSTOM_PREFIX):
            profile.setdefault("fields", {})[column.removeprefix(CUSTOM_PREFIX)] = value
    profile["identifiers"] = identifiers
    if enrolment:
        body["loyaltyProgramEnrollments"] = [enrolment]
    return body


def csv_columns_markdown() -> str:
    """The CSV column table of docs/import-export.md."""
    lines = ["| column | fills |", "| --- | --- |"]
    lines += [f"| `{name}` | {fills} |" for name, fills in CSV_COLUMNS.items()]
    lines += [
        f"| `{EXTENDED_PREFIX}<name>` | `extendedFields.<name>` (the text; typed as the field's dataType) |",
        f"| `{CUSTOM_PREFIX}<name>` | `profiles[0].fields.<name>` (the text; typed as the field's dataType) |",
    ]
    return "\n".join(lines) + "\n"
