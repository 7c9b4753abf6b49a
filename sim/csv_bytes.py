"""CSV bytes built with NumPy a column at a time, for tables too long to format cell by cell.

Each column becomes a uint8 matrix, one row per table row, holding the cell's bytes with zero
bytes as padding. Laid side by side with separator columns, the non-zero bytes read row-major
(`matrix[matrix != 0]`) are the table's text. CSV text never holds a NUL byte, so zero is free
to mean "no byte here". Every formatter gives the same bytes as the Python expression it names.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

ZERO, DOT = ord("0"), ord(".")
# Python's "%.*f" rounds the exact binary value. The float product x * 10**decimals is within
# half an ulp of the exact one and, halves being doubles below 2**52, can land on a half but not
# cross one; so away from halves rint of it rounds the same way. Cells within a margin (wider
# than the product's error) of a half, negative or too large for exact integers go to Python.
TIE_MARGIN, TIE_RELATIVE, LARGEST_SCALED = 1e-6, 1e-15, 1e15


def _width(values: np.ndarray, min_digits: int) -> int:
    return max(min_digits, len(str(int(values.max()))) if values.size else 1)


def _put_digits(out: np.ndarray, values: np.ndarray, min_digits: int) -> None:
    """Write the decimal digits of non-negative integers `values` right-aligned into the columns of
    `out`, at least `min_digits` of them (zero-padded), the unused columns on the left as 0."""
    top = int(values.max()) if values.size else 0
    # the narrowest type that holds them: the digit loop runs several times faster on it
    q = values.astype(next(t for t in (np.uint16, np.uint32, np.uint64) if top <= np.iinfo(t).max))
    for k in range(1, out.shape[1] + 1):
        nxt = q // 10               # floor_divide by a constant is fast; divmod is not
        digit = q - nxt * 10 + ZERO
        out[:, -k] = digit if k <= min_digits else digit * (q > 0)   # q > 0: a k-th digit exists
        q = nxt


def _with_texts(cells: np.ndarray, rows: np.ndarray, texts: Sequence[str]) -> np.ndarray:
    """`cells` with the given rows replaced by Python-formatted text."""
    if not len(rows):
        return cells
    enc = [t.encode("utf-8") for t in texts]
    width = max(cells.shape[1], *(len(e) for e in enc))
    if width > cells.shape[1]:
        cells = np.pad(cells, ((0, 0), (0, width - cells.shape[1])))
    for row, e in zip(rows.tolist(), enc):
        cells[row] = 0
        cells[row, :len(e)] = np.frombuffer(e, np.uint8)
    return cells


def integers(values: np.ndarray, blank_negative: bool = False) -> np.ndarray:
    """`str(x)` of integers; with `blank_negative`, an empty cell where x < 0."""
    values = np.asarray(values)
    negative = values < 0
    v = np.where(negative, 0, values)
    out = np.empty((values.size, _width(v, 1)), np.uint8)
    _put_digits(out, v, 1)
    rows = np.flatnonzero(negative)
    if blank_negative:
        out[rows] = 0
        return out
    return _with_texts(out, rows, [str(x) for x in values[rows].tolist()])


def fixed(values: np.ndarray, decimals: int) -> np.ndarray:
    """`f"{x:.{decimals}f}"` of floats, an empty cell for NaN."""
    x = np.asarray(values, np.float64)
    with np.errstate(over="ignore", invalid="ignore"):   # non-finite cells are never fast
        scaled = x * 10.0 ** decimals
        fast = ~np.signbit(x) & (scaled < LARGEST_SCALED)
        fast &= np.abs(scaled - np.floor(scaled) - 0.5) > TIE_MARGIN + scaled * TIE_RELATIVE
    n = np.rint(np.where(fast, scaled, 0.0)).astype(np.int64)
    unit = 10 ** decimals
    whole = n // unit
    wide = _width(whole, 1)
    out = np.empty((x.size, wide + 1 + decimals if decimals else wide), np.uint8)
    _put_digits(out[:, :wide], whole, 1)
    if decimals:
        out[:, wide] = DOT
        _put_digits(out[:, wide + 1:], n - whole * unit, decimals)
    nan = np.isnan(x)
    out[nan] = 0
    rows = np.flatnonzero(~fast & ~nan)
    return _with_texts(out, rows, [f"{v:.{decimals}f}" for v in x[rows].tolist()])


def names(codes: np.ndarray, labels: Sequence[str]) -> np.ndarray:
    """`labels[c]` of category codes, an empty cell where c < 0."""
    codes = np.asarray(codes)
    if codes.size and codes.max() >= len(labels):
        raise IndexError(f"category code {int(codes.max())} with only {len(labels)} names")
    enc = [s.encode("utf-8") for s in labels] + [b""]   # the extra last row is the empty cell
    if any(0 in e for e in enc):
        raise ValueError("a category name holds a NUL character")
    table = np.zeros((len(enc), max(1, *(len(e) for e in enc))), np.uint8)
    for i, e in enumerate(enc):
        table[i, :len(e)] = np.frombuffer(e, np.uint8)
    return np.take(table, np.where(codes < 0, len(labels), codes), axis=0)


def flags(values: np.ndarray) -> np.ndarray:
    """"1" for true, "0" for false."""
    return ((np.asarray(values) != 0).astype(np.uint8) + ZERO)[:, None]


def rows_bytes(columns: Sequence[np.ndarray], sep: bytes = b",", end: bytes = b"\n") -> bytes:
    """The rows as bytes: cells joined by `sep`, every row ended by `end` (one byte each)."""
    total = sum(c.shape[1] + 1 for c in columns)
    data = np.empty((columns[0].shape[0], total), np.uint8)
    at = 0
    for c in columns:
        w = c.shape[1]
        # copied as one w-byte item per row: several times faster than w one-byte items
        data[:, at:at + w].view(f"V{w}")[...] = np.ascontiguousarray(c).view(f"V{w}")
        data[:, at + w] = sep[0]
        at += w + 1
    data[:, -1] = end[0]
    return data[data != 0].tobytes()
