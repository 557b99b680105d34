"""The careful parse of a CSV chunk whose quoting is damaged: set the broken line aside, resynchronise, go on.

The fast path (pyarrow) reads a stray opening quote as the start of a field that runs to the next quote,
silently swallowing every line in between (once: 4,900 good rows). When a chunk shows multi-line values or
multi-line bad records, it is parsed again here, strictly (RFC 4180 via the csv module): a record that runs
over several lines and then breaks (wrong field count, text after a closing quote, a quote never closed) has
its first line quarantined and parsing restarts on the next line, so only the damaged line is lost.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
UNCLOSED = "an opening quote on this line is never properly closed; the line is set aside and reading resumes after it"


@dataclass
class Damaged:
    """A record set aside: its 1-based number within the chunk, its text, reason and detail."""

    number: int
    text: str
    reason: str
    detail: str


@dataclass
class Careful:
    """What the careful parse made of a chunk: good records (bytes per column), set-aside records, bytes used."""

    columns: list[list[bytes]]
    numbers: list[int] = field(default_factory=list)
    damaged: list[Damaged] = field(default_factory=list)
    consumed: int = 0


class _Lines:
    """An iterator over lines from a position, so a fresh csv reader can restart on any line."""

    def __init__(self, lines: list[str], start: int) -> None:
        self.lines = lines
        self.pos = start

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if self.pos >= len(self.lines):
            raise StopIteration
        self.pos += 1
        return self.lines[self.pos - 1]


def careful_parse(chunk: bytes, width: int, delimiter: str, *, final: bool) -> Careful:
    """Parse `chunk` strictly; when not `final`, an unfinished quoted record at the end is left unconsumed."""
    csv.field_size_limit(max(csv.field_size_limit(), len(chunk) + 1))  # the default 128 kB would break big fields
    text = chunk.decode("utf-8", errors="surrogateescape")
    lines = LINE.findall(text)
    out = Careful(columns=[[] for _ in range(width)])
    number = 0
    i = 0
    while i < len(lines):
        it = _Lines(lines, i)
        reader = csv.reader(it, delimiter=delimiter, strict=True)
        while True:
            begin = it.pos
            try:
                fields = next(reader)
            except StopIteration:
                i = len(lines)
                break
            except csv.Error as exc:
                if not final and it.pos >= len(lines) and begin > 0 and "unexpected end" in str(exc):
                    out.consumed = sum(len(line.encode("utf-8", errors="surrogateescape")) for line in lines[:begin])
                    return out
                number += 1
                out.damaged.append(Damaged(number, _shown(lines[begin]), "unclosed_quote", f"{UNCLOSED} ({exc})"))
                i = begin + 1
                break
            if not fields:  # a blank line holds no record (the fast path skips it too)
                continue
            number += 1
            if len(fields) == width:
                for j, value in enumerate(fields):
                    out.columns[j].append(value.encode("utf-8", errors="surrogateescape"))
                out.numbers.append(number)
                continue
            if it.pos - begin > 1:
                out.damaged.append(Damaged(number, _shown(lines[begin]), "unclosed_quote", UNCLOSED))
                i = begin + 1
                break
            detail = f"expected {width} fields, got {len(fields)}"
            out.damaged.append(Damaged(number, _shown(lines[begin]), "wrong_field_count", detail))
    out.consumed = len(chunk)
    return out


def _shown(line: str) -> str:
    """A set-aside line as stored in quarantine: without its line ending, invalid bytes replaced."""
    return line.rstrip("\r\n").encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace")
