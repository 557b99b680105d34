"""A source file's bytes as UTF-8, whatever it was written as: gzip/zstd/bz2 by magic bytes, UTF-16/32 by BOM.

The CSV reader only ever sees UTF-8 bytes, so one chunking and parsing path serves every file; a damaged
compressed stream or an undecodable encoding is a one-line IngestError naming the file, never a traceback.
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa

from leadops.errors import IngestError

# magic bytes -> pyarrow codec name, and the file name endings that promise each
MAGIC = ((b"\x1f\x8b", "gzip"), (b"\x28\xb5\x2f\xfd", "zstd"), (b"BZh", "bz2"))
SUFFIXES = {".gz": "gzip", ".gzip": "gzip", ".zst": "zstd", ".zstd": "zstd", ".bz2": "bz2"}
# byte-order marks, longest first (the UTF-32 LE mark starts with the UTF-16 LE one)
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
SNIFF_BYTES = 4096


def compression_of(path: Path, head: bytes) -> str | None:
    """The codec a file is compressed with, from its magic bytes; a compressed name on plain bytes is an error."""
    for magic, codec in MAGIC:
        if head.startswith(magic):
            return codec
    promised = SUFFIXES.get(path.suffix.lower())
    if promised is not None:
        raise IngestError(f"{path} is named like a {promised} file but does not start with {promised} magic bytes")
    return None


def utf16_without_bom(head: bytes) -> str | None:
    """utf-16-le / utf-16-be when the text is plainly ASCII written as UTF-16 with no BOM, else None."""
    sample = head[: SNIFF_BYTES - SNIFF_BYTES % 2]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


class Utf8Stream:
    """read(n) gives the next UTF-8 bytes of a file after decompression, BOM removal and transcoding."""

    def __init__(self, path: Path, *, source: str, encoding: str) -> None:
        self.path = path
        self.source = source
        self._pending = b""
        self.bytes_read = 0
        with open(path, "rb") as handle:
            magic = handle.read(4)
        try:
            self.codec: str | None = compression_of(path, magic)
        except IngestError as exc:
            raise IngestError(f"source '{source}': {exc}") from exc
        self._stream: pa.NativeFile | BinaryIO
        if self.codec is not None:
            self._stream = pa.CompressedInputStream(pa.OSFile(str(path)), self.codec)
        else:
            self._stream = open(path, "rb")  # noqa: SIM115 - closed by close()
        head = self._read_raw(SNIFF_BYTES)
        self.encoding = self._pick_encoding(head, encoding)
        for bom, name in BOMS:
            if head.startswith(bom) and name == self.encoding:
                head = head[len(bom) :]
                break
        self._decoder = None
        if self.encoding != "utf-8":
            self._decoder = codecs.getincrementaldecoder(self.encoding)(errors="replace")
        self._pending = self._recode(head, final=False)

    def _pick_encoding(self, head: bytes, declared: str) -> str:
        """A BOM wins over the declared encoding; UTF-16 without a BOM is recognised when unambiguous."""
        try:
            name = codecs.lookup(declared).name
        except LookupError as exc:
            raise IngestError(f"source '{self.source}': encoding '{declared}' is not a known text encoding") from exc
        for bom, bom_name in BOMS:
            if head.startswith(bom):
                return bom_name
        if name in ("utf-16", "utf-32"):  # the codec wants a BOM; without one the file is little-endian
            return name + "-le"
        if name == "utf-8":
            return utf16_without_bom(head) or name
        return name

    def _read_raw(self, size: int) -> bytes:
        try:
            data = self._stream.read(size)
        except (OSError, pa.ArrowInvalid, EOFError) as exc:
            what = f"a truncated or damaged {self.codec} file" if self.codec else "unreadable"
            raise IngestError(
                f"source '{self.source}': {self.path} is {what} (failed after {self.bytes_read:,} bytes of data: {exc})"
            ) from exc
        self.bytes_read += len(data)
        return bytes(data)

    def _recode(self, data: bytes, *, final: bool) -> bytes:
        if self._decoder is None:
            return data
        return self._decoder.decode(data, final=final).encode("utf-8")

    def read(self, size: int) -> bytes:
        """Up to about `size` UTF-8 bytes; b'' at the end of the file."""
        if self._pending:
            out, self._pending = self._pending, b""
            return out
        while True:
            data = self._read_raw(size)
            out = self._recode(data, final=not data)
            if out or not data:
                return out

    def close(self) -> None:
        """Release the file."""
        self._stream.close()
