"""The weight variable of an SPSS .sav file, which pyreadstat cannot set when it writes one.

A system file names its weight variable in its header (``weight_index``, the 1-based position
of the variable's first 8-byte element among the case's elements: a string variable of width
w takes ceil(w / 8) of them, one variable record each). ``sav_weight_set`` finds the variable
among the dictionary's variable records (type 2) and writes that position into the header, so
SPSS and PSPP open the file weighted (``WEIGHT BY weight`` already in force). Nothing else of
the file changes. ``sav_weight_of`` reads it back.

The layout is the one documented by PSPP ("System File Format", in the PSPP developers' guide):
a 176-byte header (``$FL2``, product, layout code, nominal case size, compression, weight
index at byte 76, …), then the variable records.
"""

from __future__ import annotations

import struct
from pathlib import Path

WEIGHT_INDEX_OFFSET = 76
HEADER_SIZE = 176


class SavFormatError(ValueError):
    pass


def _variables(data: bytes) -> list[tuple[int, str]]:
    """(element position, short name) of each variable record, in order (continuations of a
    long string have type -1 and no name of their own)."""
    if data[:4] not in (b"$FL2", b"$FL3"):
        raise SavFormatError("not an SPSS system file")
    layout = struct.unpack_from("<i", data, 64)[0]
    order = "<" if layout in (2, 3) else ">"
    at, position, found = HEADER_SIZE, 0, []
    while at + 4 <= len(data):
        record = struct.unpack_from(f"{order}i", data, at)[0]
        if record != 2:
            break
        kind, has_label, missing = struct.unpack_from(f"{order}3i", data, at + 4)
        name = data[at + 24 : at + 32].decode("ascii", "replace").rstrip()
        position += 1
        if kind != -1:
            found.append((position, name))
        at += 32
        if has_label:
            length = struct.unpack_from(f"{order}i", data, at)[0]
            at += 4 + (length + 3) // 4 * 4
        at += abs(missing) * 8
    return found


def sav_weight_set(path: Path, variable: str) -> None:
    """Make ``variable`` (its short name, any case) the weight of the .sav at ``path``."""
    data = bytearray(path.read_bytes())
    positions = {name.upper(): position for position, name in _variables(bytes(data))}
    if variable.upper() not in positions:
        raise SavFormatError(f"no variable {variable} in the file")
    order = "<" if struct.unpack_from("<i", data, 64)[0] in (2, 3) else ">"
    struct.pack_into(f"{order}i", data, WEIGHT_INDEX_OFFSET, positions[variable.upper()])
    path.write_bytes(bytes(data))


def sav_weight_of(path: Path) -> str | None:
    """The short name of the .sav's weight variable, None when it is unweighted."""
    data = path.read_bytes()
    order = "<" if struct.unpack_from("<i", data, 64)[0] in (2, 3) else ">"
    index = struct.unpack_from(f"{order}i", data, WEIGHT_INDEX_OFFSET)[0]
    if index <= 0:
        return None
    return next((name for position, name in _variables(data) if position == index), None)
