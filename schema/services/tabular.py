"""Tables in files, as offices keep them: CSV (UTF-8, with or without BOM, or GB18030) and XLSX.

Both are streamed: a row is read, handed on and forgotten, so a 900,000-row file costs no more
memory than a small one. XLSX is read with openpyxl's read-only mode (it parses the sheet as it
goes) and written with its write-only mode.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

FORMATS = ("csv", "xlsx")

# A cell a spreadsheet would read as a formula (OWASP "CSV injection"): a need's title or a
# refused row's cell comes from a stranger, and "=HYPERLINK(…)" or "=cmd|…" must stay text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """A CSV cell that Excel and WPS show as the text it is: text that would start a formula
    gets a leading apostrophe (which the spreadsheet hides); anything else is left alone."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class TableFileError(ValueError):
    """The file cannot be read as a table (unknown format, no header, unreadable)."""


@dataclass(frozen=True)
class TableRows:
    """A table being read: its header, an estimate of its data rows (None when unknown), and
    its data rows as (line number, cells) with cells as text."""

    header: list[str]
    total: int | None
    rows: Iterator[tuple[int, list[str]]]


def file_format(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise TableFileError(f"{path.name}: only .csv and .xlsx files are read")
    return suffix


def open_table(path: Path) -> TableRows:
    """Opens a CSV or XLSX file for streaming; its first row is the header."""
    if not path.is_file():
        raise TableFileError(f"{path}: no such file")
    if file_format(path) == "csv":
        return _open_csv(path)
    return _open_xlsx(path)


def _csv_encoding(path: Path) -> str:
    with path.open("rb") as f:
        head = f.read(65536)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A cut multi-byte character at the end of the sample is still UTF-8.
        if exc.start < len(head) - 3:
            return "gb18030"
    return "utf-8-sig"


def _count_lines(path: Path) -> int:
    count = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            count += chunk.count(b"\n")
    return count


def _open_csv(path: Path) -> TableRows:
    f = path.open(newline="", encoding=_csv_encoding(path))
    reader = csv.reader(f)
    try:
        header = next(reader)
    except StopIteration:
        f.close()
        raise TableFileError(f"{path.name}: the file is empty") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        f.close()
        raise TableFileError(f"{path.name}: {exc}") from exc

    def rows() -> Iterator[tuple[int, list[str]]]:
        with f:
            try:
                for cells in reader:
                    if any(cells):
                        yield reader.line_num, cells
            except (UnicodeDecodeError, csv.Error) as exc:
                raise TableFileError(f"{path.name}, line {reader.line_num}: {exc}") from exc

    return TableRows(header, max(_count_lines(path) - 1, 0), rows())


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _open_xlsx(path: Path) -> TableRows:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError, XML errors alike
        raise TableFileError(f"{path.name}: not a readable XLSX file ({exc})") from exc
    sheet = book.worksheets[0]
    values = sheet.iter_rows(values_only=True)
    try:
        header = [_cell_text(v) for v in next(values)]
    except StopIteration:
        book.close()
        raise TableFileError(f"{path.name}: the sheet is empty") from None
    total = sheet.max_row - 1 if sheet.max_row else None

    def rows() -> Iterator[tuple[int, list[str]]]:
        line = 1
        try:
            for line, row in enumerate(values, start=2):
                cells = [_cell_text(v) for v in row]
                if any(cells):
                    yield line, cells
        except Exception as exc:
            raise TableFileError(f"{path.name}: unreadable from row {line + 1} ({exc})") from exc
        finally:
            book.close()

    return TableRows(header, total, rows())


def write_table(
    path: Path,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    sheet: str = "data",
    formulas_as_text: bool = True,
) -> int:
    """Writes a header and rows as CSV (UTF-8 with BOM, which Excel opens right) or XLSX;
    returns the number of data rows. Text that looks like a formula stays text (see
    `csv_safe`; in XLSX the cell is typed as a string); `formulas_as_text=False` writes cells
    exactly as given, for generated test files that must read back byte for byte."""
    count = 0
    if file_format(path) == "csv":
        safe = csv_safe if formulas_as_text else _as_is
        with path.open("w", newline="", encoding="utf-8-sig") as f:
            writer = csv.writer(f)
            writer.writerow([safe(v) for v in header])
            for row in rows:
                writer.writerow([safe(v) for v in row])
                count += 1
        return count
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

    book = Workbook(write_only=True)
    ws = book.create_sheet(sheet)

    def cells(values: Sequence[Any]) -> list[Any]:
        out: list[Any] = []
        for value in values:
            value = _xlsx_value(value)
            if formulas_as_text and isinstance(value, str) and value.startswith("="):
                out.append(_text_cell(ws, value, WriteOnlyCell))
            else:
                out.append(value)
        return out

    assert isinstance(ws, WriteOnlyWorksheet)
    ws.append(cells(header))
    for row in rows:
        ws.append(cells(row))
        count += 1
    book.save(path)
    return count


def _as_is(value: Any) -> Any:
    return value


def _text_cell(ws: Any, value: str, cell_type: Any) -> Any:
    # openpyxl types any text starting with "=" as a formula; typed "s" it is written as text.
    cell = cell_type(ws, value=value)
    cell.data_type = "s"
    return cell


def _xlsx_value(value: Any) -> Any:
    # openpyxl refuses aware datetimes; reports carry UTC times, written as ISO text.
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.isoformat(timespec="seconds")
    # ... and control characters (text written before `schema.text_rules` refused them), which
    # would fail the whole file: each is shown as U+FFFD instead.
    if isinstance(value, str):
        return _XLSX_ILLEGAL.sub("\ufffd", value)
    return value


_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class ReportWriter:
    """The refused rows of an import, as CSV: line, reason, then the row as it was read."""

    def __init__(self, path: Path, header: Sequence[str]) -> None:
        self.path = path
        self.count = 0
        self._file: IO[str] = path.open("w", newline="", encoding="utf-8-sig")
        self._writer = csv.writer(self._file)
        self._writer.writerow(["line", "reason", *(csv_safe(v) for v in header)])

    def refuse(self, line: int, reason: str, cells: Sequence[str]) -> None:
        # The row as read, from a file someone sent the office: kept from running as formulas.
        self._writer.writerow([line, csv_safe(reason), *(csv_safe(v) for v in cells)])
        self.count += 1

    def close(self) -> None:
        self._file.close()
