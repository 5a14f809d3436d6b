"""``torch.PyTorchFileReader``: the records of the zip archive PyTorch's ``torch.save`` writes, by name.

An archive holds its records under one top-level folder (``archive/data.pkl``, ``archive/data/0``, ...);
the reader names them without it, as PyTorch's does. It reads bytes only: ``gg.load`` is the way to the
tensors (``torch_format.py``), and nothing here unpickles.
"""
from __future__ import annotations

import os
import struct
import zipfile
from typing import BinaryIO

__all__ = ["PyTorchFileReader"]

_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # a zip member's local file header (30 bytes)


class PyTorchFileReader:
    """Reads the records of a PyTorch checkpoint archive from a path or a binary file object."""

    def __init__(self, file: str | os.PathLike | BinaryIO) -> None:
        if isinstance(file, (str, os.PathLike)):
            file = open(file, "rb")  # noqa: SIM115  (held open for the reader's life, as PyTorch's)
        elif not (hasattr(file, "read") and hasattr(file, "seek")):
            raise TypeError(f"PyTorchFileReader: expected a path or a binary file object, got {type(file).__name__}")
        self._file = file
        try:
            self._zip = zipfile.ZipFile(file)
        except zipfile.BadZipFile as exc:
            raise RuntimeError(f"PyTorchFileReader failed reading zip archive: {exc}") from None
        names = self._zip.namelist()
        if not names:
            raise RuntimeError("PyTorchFileReader failed reading zip archive: it holds no records")
        self._prefix = names[0].split("/", 1)[0] + "/"
        self._infos = {info.filename[len(self._prefix):]: info for info in self._zip.infolist()
                       if info.filename.startswith(self._prefix)}

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = self._infos.get(name)
        if info is None:
            raise RuntimeError(f"PyTorchFileReader: record '{name}' not found in the archive")
        return info

    def get_all_records(self) -> list[str]:
        """Every record's name, in the archive's order."""
        return list(self._infos)

    def has_record(self, name: str) -> bool:
        return name in self._infos

    def get_record(self, name: str) -> bytes:
        """The bytes of one record."""
        return self._zip.read(self._info(name))

    def get_record_size(self, name: str) -> int:
        return self._info(name).file_size

    def get_record_header_offset(self, name: str) -> int:
        """Where the record's local header starts in the file."""
        return self._info(name).header_offset

    def get_record_offset(self, name: str) -> int:
        """Where the record's bytes start in the file (past its local header; PyTorch stores them uncompressed)."""
        info = self._info(name)
        self._file.seek(info.header_offset)
        fields = _LOCAL_HEADER.unpack(self._file.read(_LOCAL_HEADER.size))
        return info.header_offset + _LOCAL_HEADER.size + fields[-2] + fields[-1]

    def serialization_id(self) -> str:
        """The archive's ``.data/serialization_id`` record ("" when it has none)."""
        name = ".data/serialization_id"
        return self.get_record(name).decode() if name in self._infos else ""
