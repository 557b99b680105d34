"""Personal data in quarantine: the personal fields of a rejected row are masked before the row is stored.

Which source columns are personal comes from the mapping: a source's `personal_columns` when given, else its
`email_column`, the columns mapped onto `email` or `name`, and every column whose name says it holds an email
address, a person's name, a phone number, a postal address or free text (notes, comments, descriptions).
`keep_personal: true` keeps them as read; `keep_email: true` keeps the email column (the config already
stores the address). A malformed line (wrong field count) cannot be split reliably, so its fields at personal
positions and anything that looks like an email address or phone number in it are masked.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Sequence
from typing import Any

from leadops.settings.crm import SourceSpec

MASK = "***"
PERSONAL_NAME = re.compile(
    r"(e-?mail|^name$|first.?name|last.?name|full.?name|sur.?name|given.?name|contact.?name|person|"
    r"phone|mobile|cell|fax|street|address|postal|zip|city|birth|"
    r"note|comment|description|message|free.?text|remarks?|body|subject)",
    re.IGNORECASE,
)
PERSONAL_CANONICAL = ("email", "name")
EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@([A-Za-z0-9.\-]+\.[A-Za-z]{2,})")
# +1 (555) 123-4567, 0049 30 1234567, 555.123.4567; not ISO dates or times (2025-01-02T10:00:00)
PHONE = re.compile(
    r"(?<![\w:\-])\+?(?:\(\d{1,4}\)|\d{1,4})(?:[ .\-]?\(?\d{2,4}\)?){1,2}[ .\-]\d{3,4}(?:[ .\-]?\d{2,4})?(?![\w:\-])"
)

Masker = Callable[[dict[str, Any]], dict[str, Any]]


def personal_columns(spec: SourceSpec, header: Sequence[str]) -> list[str]:
    """The source columns of `header` that hold personal data and are not kept by the config."""
    if spec.keep_personal:
        return []
    if spec.personal_columns is not None:
        chosen = set(spec.personal_columns)
    else:
        chosen = {c for c in header if PERSONAL_NAME.search(c)}
        chosen |= {src for src, canonical in spec.columns.items() if canonical in PERSONAL_CANONICAL}
        if spec.email_column:
            chosen.add(spec.email_column)
        chosen -= set(spec.columns) - {src for src, c in spec.columns.items() if c in PERSONAL_CANONICAL}
    if spec.keep_email and spec.email_column:
        chosen.discard(spec.email_column)
    return [c for c in header if c in chosen]


def mask_value(value: Any) -> Any:
    """A personal value replaced by *** (an email keeps its domain: it says which company, not who)."""
    if value is None or value == "":
        return value
    text = str(value)
    match = EMAIL.fullmatch(text.strip())
    return f"{MASK}@{match.group(1)}" if match else MASK


def mask_emails(text: str) -> str:
    """Email addresses inside text masked (their domain kept)."""
    return EMAIL.sub(lambda m: f"{MASK}@{m.group(1)}", text)


def mask_text(text: str) -> str:
    """Email addresses and phone numbers inside free text masked."""
    return PHONE.sub(MASK, mask_emails(text))


def _mask_line(line: str, positions: set[int], delimiter: str) -> str:
    try:
        fields = next(csv.reader(io.StringIO(line), delimiter=delimiter))
    except (csv.Error, StopIteration):
        return mask_text(line)
    masked = [mask_value(f) if i in positions else mask_emails(f) for i, f in enumerate(fields)]
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="").writerow(masked)
    return out.getvalue()


def masker(spec: SourceSpec, header: Sequence[str]) -> Masker | None:
    """The function that masks one quarantined row's raw values for this source, or None when nothing is."""
    columns = set(personal_columns(spec, header))
    if not columns:
        return None
    positions = {i for i, name in enumerate(header) if name in columns}
    delimiter = spec.delimiter

    def mask(raw: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for key, value in raw.items():
            if key in columns:
                out[key] = mask_value(value)
            elif key == "_line" and isinstance(value, str):
                out[key] = _mask_line(value, positions, delimiter)
            else:
                out[key] = value
        return out

    return mask
