"""X12 tokenizer: separators from the ISA, segments and elements as Arrow arrays (no row loop).

The whole file is one Arrow string; it is split on the segment terminator, each segment's id is
dictionary-encoded (numpy masks per id), and the elements of the segments a caller asks for are
split out with Arrow kernels, padded so that element k of every segment exists (empty -> null).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ISA_LENGTH = 106  # the ISA segment is fixed-width: 105 characters and its terminator
_COMPONENT_AT, _TERMINATOR_AT, _REPETITION_AT = 104, 105, 82
_TRIMMED = " \t\r\n"


def _strip_lead(head: bytes) -> bytes:
    return head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")


def is_x12(head: bytes) -> bool:
    """Whether a file's first bytes open an X12 interchange: `ISA`, a separator, the two-digit
    ISA01 and the separator again (as far as `head` goes), e.g. `ISA*00*`."""
    head = _strip_lead(head)
    if not head.startswith(b"ISA") or len(head) < 4 or head[3:4].isalnum():
        return False
    isa01 = head[4:6]  # what of it the head holds
    return (isa01 == b"" or isa01.isdigit()) and head[6:7] in (b"", head[3:4])


@dataclass(frozen=True)
class Separators:
    """The delimiters an interchange declares in its ISA."""

    element: str
    component: str
    repetition: str
    segment: str


def separators(isa: str) -> Separators | None:
    """The delimiters of an ISA segment's text (its terminator included); None when it is not a
    well-formed ISA (not 106 characters, not 16 elements, a delimiter that is alphanumeric)."""
    if len(isa) < ISA_LENGTH or not isa.startswith("ISA"):
        return None
    element = isa[3]
    found = Separators(element, isa[_COMPONENT_AT], isa[_REPETITION_AT], isa[_TERMINATOR_AT])
    delimiters = {found.element, found.component, found.segment}
    if len(delimiters) != 3 or any(c.isalnum() or c == " " for c in delimiters):
        return None
    if isa[:_COMPONENT_AT].count(element) != 16:
        return None
    return found


def file_text(data: bytes) -> tuple[pa.LargeStringArray, bool]:
    """The file as one Arrow string (a leading BOM dropped) and whether undecodable bytes were
    replaced by U+FFFD (the file is not valid UTF-8)."""
    data = data.removeprefix(b"\xef\xbb\xbf")
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64).tobytes())
    raw = pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), 1, [None, offsets, pa.py_buffer(data)]
    )
    try:
        return raw.cast(pa.large_string()), False
    except pa.ArrowInvalid:
        text = data.decode("utf-8", errors="replace")
        return pa.array([text], pa.large_string()), True


@dataclass
class Segments:
    """The segments of a file: their text, their id (dictionary codes) and the separators."""

    text: pa.Array  # one segment per value, terminator and surrounding white space removed
    ids: np.ndarray  # dictionary code of each segment's id
    names: list[str]  # dictionary: code -> segment id
    seps: Separators
    cache: dict = field(default_factory=dict)  # per-file extractors (`fields.Extractor.of`)

    def __len__(self) -> int:
        return len(self.text)

    def mask(self, name: str) -> np.ndarray:
        """Which segments have id `name`."""
        if name not in self.names:
            return np.zeros(len(self), dtype=bool)
        return self.ids == self.names.index(name)

    def elements(self, where: np.ndarray, count: int) -> list[pa.Array]:
        """Elements 1..`count` of the segments at positions `where` (empty -> null)."""
        return split_padded(self.text.take(pa.array(where)), self.seps.element, count, skip=1)


def split_padded(values: pa.Array, sep: str, count: int, skip: int = 0) -> list[pa.Array]:
    """Parts `skip`..`skip+count-1` of each value split on `sep`; a part that is absent or
    empty (or a null value) is null. One split; each part is a `take` at list offset + k."""
    parts = pc.split_pattern(values, sep)
    if isinstance(parts, pa.ChunkedArray):
        parts = parts.combine_chunks()
    offsets = parts.offsets.to_numpy()
    flat = parts.values  # the parts of every value, in order
    if not len(flat):
        return [pa.nulls(len(values), values.type) for _ in range(count)]
    filled = np.asarray(pc.binary_length(flat)) > 0  # the part is not empty
    start, stop = offsets[:-1], offsets[1:]
    valid = np.asarray(parts.is_valid())
    out = []
    for k in range(skip, skip + count):
        at = start + k
        ok = (at < stop) & valid
        at = np.where(ok, at, 0)
        ok &= filled[at]
        out.append(flat.take(pa.array(at, mask=~ok)))
    return out


def distinct_apply(values: pa.Array, function) -> tuple[np.ndarray, pa.Array]:
    """`function` applied to each distinct value once (codes repeat): the indices of each value
    in the dictionary (-1 for null) and `function(dictionary)`."""
    encoded = pc.dictionary_encode(values)
    indices = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return indices, function(encoded.dictionary)


def numbers(values: pa.Array) -> np.ndarray:
    """Each value as a float (NaN for null or not a number), parsed once per distinct value."""
    import pandas as pd

    indices, parsed = distinct_apply(
        values, lambda d: pd.to_numeric(d.to_pandas(), errors="coerce").to_numpy(dtype=float)
    )
    return np.append(parsed, np.nan)[indices]


def _has_edge_space(pieces: pa.LargeStringArray) -> bool:
    """Whether any piece starts or ends with white space: its first and last bytes, read from
    the Arrow buffers."""
    data = np.frombuffer(pieces.buffers()[2] or b"", dtype=np.uint8)
    offsets = np.frombuffer(pieces.buffers()[1], dtype=np.int64)
    offsets = offsets[pieces.offset : pieces.offset + len(pieces) + 1]
    start, stop = offsets[:-1], offsets[1:]
    filled = stop > start
    edges = np.concatenate([data[start[filled]], data[stop[filled] - 1]])
    return bool(np.isin(edges, np.frombuffer(_TRIMMED.encode(), dtype=np.uint8)).any())


def _pieces(text: pa.LargeStringArray, terminator: str) -> pa.Array:
    """The text between terminators. When every terminator is followed by the same line end
    (`~` CR LF, `~` LF: the usual layouts) the split takes it along, so that no piece needs
    trimming; otherwise each piece is trimmed of white space."""
    total = pc.count_substring(text, terminator)[0].as_py()
    for ending in ("\r\n", "\n"):
        if total and pc.count_substring(text, terminator + ending)[0].as_py() == total:
            pieces = pc.split_pattern(text, terminator + ending).flatten()
            if not _has_edge_space(pieces):
                return pieces
            break
    return pc.utf8_trim(pc.split_pattern(text, terminator).flatten(), _TRIMMED)


def split_segments(text: pa.LargeStringArray, seps: Separators) -> Segments:
    """The file's segments (empty ones between terminators, e.g. a final line end, dropped)."""
    pieces = _pieces(text, seps.segment)
    pieces = pieces.filter(pc.not_equal(pieces, ""))
    # a segment id is two or three characters: cut the first four at the element separator
    # (once per distinct four-character start), then number the ids
    cut = re.escape(seps.element) + ".*$"
    starts, heads = distinct_apply(
        pc.utf8_slice_codeunits(pieces, 0, 4), lambda d: pc.replace_substring_regex(d, cut, "")
    )
    codes, names = distinct_apply(heads, lambda d: d.to_pylist())
    ids = codes[starts].astype(np.int32)
    return Segments(pieces, ids, names, seps)
