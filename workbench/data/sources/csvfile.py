"""Reading a CSV table with the csv module: a header row, then rows of strings.

Shared by the `csv` and `text_csv` sources; errors name the file, column and line.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from workbench.data.bundle import DataError


@dataclass
class Table:
    path: Path
    header: list[str]
    rows: list[list[str]]
    lines: list[int]  # the file line of each row, for messages

    def column(self, name: str, field: str) -> list[str]:
        if name not in self.header:
            raise DataError(f"{field} names a column {name!r} that {self.path.name} does not have (columns: {', '.join(self.header)})")
        index = self.header.index(name)
        return [row[index] for row in self.rows]

    def numbers(self, name: str, field: str) -> list[float]:
        values = []
        for value, line in zip(self.column(name, field), self.lines):
            number = parse_number(value)
            if number is None:
                what = "is empty (missing values are not supported)" if not value.strip() else f"has {value!r}, not a number"
                raise DataError(f"{self.path.name} line {line}: column {name!r} {what}")
            values.append(number)
        return values


def parse_number(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def read_table(path: Path, delimiter: str = ",") -> Table:
    if len(delimiter) != 1:
        raise DataError(f"data.params.delimiter must be one character, got {delimiter!r}")
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            header: list[str] | None = None
            rows: list[list[str]] = []
            lines: list[int] = []
            for record in reader:
                if not record or all(not cell.strip() for cell in record):
                    continue
                if header is None:
                    header = [cell.strip() for cell in record]
                    continue
                if len(record) != len(header):
                    raise DataError(f"{path.name} line {reader.line_num} has {len(record)} values but the header has {len(header)}")
                rows.append([cell.strip() for cell in record])
                lines.append(reader.line_num)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc
    if header is None or not rows:
        raise DataError(f"{path.name} has no data rows (a header row, then one row per sample)")
    if len(set(header)) != len(header):
        raise DataError(f"{path.name} repeats a column name in its header: {', '.join(header)}")
    return Table(path, header, rows, lines)


def class_names(labels: list[str]) -> list[str]:
    """Distinct labels, numbers in numeric order, else alphabetical."""
    distinct = set(labels)
    numbers = {label: parse_number(label) for label in distinct}
    if all(v is not None for v in numbers.values()):
        return sorted(distinct, key=lambda label: (numbers[label], label))
    return sorted(distinct)
