"""A flat container for the search engine's arrays, saved in SQLite and read back without copying.

Why not numpy's .npz: reading an .npz copies every array out of the zip, so loading 70 MB of index
held 140 MB at the peak. Here the blob is a short JSON header then each array's raw bytes (16-byte
aligned), and every array is a read-only `np.frombuffer` view of the one buffer the blob was read into.
Texts (terms, titles, names) are kept as one UTF-8 string with character offsets, so a list of 100,000
titles costs one string, not 100,000 Python objects. They are written after all the arrays, so a reader
can keep the arrays' bytes and decode the texts from a transient copy (`Unpacked.read`): the texts' UTF-8
bytes would otherwise stay in memory beside the decoded strings, 20 MB at 100,000 talks.
"""

from __future__ import annotations

import itertools
import json
import struct
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

MAGIC = b"TALKSRCH"
_ALIGN = 16
_HEADER = struct.Struct("<8sQ")
_TEXT = ".text"
_CHUNK = 1 << 20

ReadAt = Callable[[int, int], bytes]  # (offset, length) -> those bytes of the blob


class Packed:
    """Arrays by name, plus a little JSON metadata, to be written as one blob."""

    def __init__(self, meta: Mapping[str, Any] | None = None) -> None:
        self.meta: dict[str, Any] = dict(meta or {})
        self.arrays: dict[str, npt.NDArray[Any]] = {}

    def add(self, name: str, array: npt.NDArray[Any]) -> None:
        """Add an array (stored in its own dtype, little-endian as numpy keeps it here)."""
        self.arrays[name] = np.ascontiguousarray(array)

    def add_texts(self, name: str, texts: Sequence[str]) -> None:
        """Add a list of strings as one UTF-8 text and the character offset of each."""
        joined = "".join(texts)
        bounds = np.zeros(len(texts) + 1, dtype=np.int64)
        if texts:
            np.cumsum([len(t) for t in texts], out=bounds[1:])
        self.add(f"{name}.text", np.frombuffer(joined.encode("utf-8", "surrogatepass"), dtype=np.uint8))
        self.add(f"{name}.bounds", bounds)

    def _ordered(self) -> list[tuple[str, npt.NDArray[Any]]]:
        arrays = list(self.arrays.items())
        return [a for a in arrays if not a[0].endswith(_TEXT)] + [a for a in arrays if a[0].endswith(_TEXT)]

    def chunks(self) -> Iterator[bytes | memoryview]:
        """The blob, piece by piece (so it can be streamed into the database without one big copy)."""
        entries: list[tuple[str, str, list[int], int, int]] = []
        offset = 0
        ordered = self._ordered()
        for name, array in ordered:
            offset = -(-offset // _ALIGN) * _ALIGN
            entries.append((name, array.dtype.str, list(array.shape), offset, array.nbytes))
            offset += array.nbytes
        header = json.dumps({"meta": self.meta, "arrays": entries}, separators=(",", ":")).encode()
        start = -(-(_HEADER.size + len(header)) // _ALIGN) * _ALIGN
        yield _HEADER.pack(MAGIC, len(header)) + header + b"\0" * (start - _HEADER.size - len(header))
        written = 0
        for (_, _, _, at, nbytes), (_, array) in zip(entries, ordered, strict=True):
            if at > written:
                yield b"\0" * (at - written)
            if nbytes:
                yield array.data.cast("B")
            written = at + nbytes

    def size(self) -> int:
        """The blob's length in bytes."""
        return sum(len(chunk) for chunk in self.chunks())

    def to_bytes(self) -> bytes:
        """The whole blob."""
        return b"".join(self.chunks())


class Unpacked:
    """Zero-copy views of a blob written by `Packed`."""

    def __init__(self, buffer: bytes | bytearray | memoryview) -> None:
        view = memoryview(buffer).cast("B")
        self.meta, self._entries, _ = _header(lambda at, n: bytes(view[at : at + n]), len(view))
        self._buffer: bytes | bytearray | memoryview = buffer
        self._texts: dict[str, str] = {}

    @classmethod
    def read(cls, read_at: ReadAt, length: int) -> Unpacked:
        """Read a blob through `read_at`: the arrays into one buffer (kept), the texts decoded one by one."""
        meta, entries, texts_start = _header(read_at, length)
        buffer = np.empty(texts_start, dtype=np.uint8)
        view = buffer.data
        for at in range(0, texts_start, _CHUNK):
            piece = read_at(at, min(_CHUNK, texts_start - at))
            view[at : at + len(piece)] = piece
        unpacked = cls.__new__(cls)
        unpacked.meta, unpacked._entries, unpacked._buffer = meta, entries, view
        unpacked._texts = {
            name: str(read_at(at, nbytes), "utf-8", "surrogatepass")
            for name, (_, _, at, nbytes) in entries.items()
            if name.endswith(_TEXT)
        }
        return unpacked

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def array(self, name: str) -> npt.NDArray[Any]:
        """A read-only view of one array."""
        dtype, shape, at, nbytes = self._entries[name]
        kind = np.dtype(dtype)
        count = nbytes // kind.itemsize if kind.itemsize else 0
        return np.frombuffer(self._buffer, dtype=kind, count=count, offset=at).reshape(shape)

    def text(self, name: str) -> str:
        """A string saved as UTF-8 (an entry whose name ends in '.text')."""
        found = self._texts.get(name)
        if found is None:
            found = str(self.array(name).data, "utf-8", "surrogatepass")
        return found

    def texts(self, name: str) -> tuple[str, npt.NDArray[np.int64]]:
        """A list saved by `add_texts`: the joined string and the character bounds of each item."""
        return self.text(f"{name}{_TEXT}"), self.array(f"{name}.bounds")

    def text_list(self, name: str) -> list[str]:
        """A list saved by `add_texts`, as a list."""
        joined, bounds = self.texts(name)
        edges = bounds.tolist()
        return [joined[a:b] for a, b in itertools.pairwise(edges)]


_Entries = dict[str, tuple[str, list[int], int, int]]


def _header(read_at: ReadAt, length: int) -> tuple[dict[str, Any], _Entries, int]:
    """The blob's metadata, its entries (dtype, shape, offset, size) and where its texts begin."""
    if length < _HEADER.size:
        raise ValueError("not a search index blob")
    magic, size = _HEADER.unpack(read_at(0, _HEADER.size))
    if magic != MAGIC or _HEADER.size + size > length:
        raise ValueError("not a search index blob")
    document = json.loads(read_at(_HEADER.size, size))
    base = -(-(_HEADER.size + size) // _ALIGN) * _ALIGN
    entries = {name: (dtype, shape, base + at, nbytes) for name, dtype, shape, at, nbytes in document["arrays"]}
    texts_start = min((at for name, (_, _, at, _) in entries.items() if name.endswith(_TEXT)), default=length)
    if any(at + nbytes > length for _, _, at, nbytes in entries.values()):
        raise ValueError("truncated search index blob")
    return document["meta"], entries, texts_start
