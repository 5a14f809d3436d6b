"""Shared memory for tensors: arrays in memory-mapped files that other processes map by name.

A shared array's memory is a file under /dev/shm (the system's temporary directory where there is none),
mapped with MAP_SHARED, so every process that maps the file reads and writes the same bytes, whichever
start method made it (fork or spawn). The process that made a file removes its name at exit; processes
that mapped it keep their mapping until they drop it. A process killed outright leaves its files behind
(``gpugrad-shm-*`` in /dev/shm), as PyTorch's ``file_system`` strategy can.
"""
from __future__ import annotations

import atexit
import mmap
import os
import tempfile
import weakref

import numpy

_DIR = "/dev/shm" if os.path.isdir("/dev/shm") else None
_PREFIX = "gpugrad-shm-"
_made: set[str] = set()  # files this process created: their names go at exit
_made_by = os.getpid()
_paths: "weakref.WeakKeyDictionary[mmap.mmap, str]" = weakref.WeakKeyDictionary()  # mapping -> its file
_mapped: "weakref.WeakValueDictionary[str, mmap.mmap]" = weakref.WeakValueDictionary()  # file -> mapping


def _remove_made_files() -> None:
    if os.getpid() != _made_by:  # a forked child inherits this handler, not the files
        return
    for path in list(_made):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
    _made.clear()


atexit.register(_remove_made_files)


def _map(path: str, nbytes: int) -> mmap.mmap:
    fd = os.open(path, os.O_RDWR)
    try:
        mapping = mmap.mmap(fd, nbytes)
    finally:
        os.close(fd)
    _paths[mapping] = path
    _mapped[path] = mapping
    return mapping


def shared_empty(shape: tuple, dtype) -> numpy.ndarray:
    """A row-major array of zeros whose memory other processes can map (see ``location``)."""
    nbytes = max(int(numpy.prod(shape, dtype=numpy.int64)) * numpy.dtype(dtype).itemsize, 1)  # mmap refuses empty files
    fd, path = tempfile.mkstemp(prefix=_PREFIX, dir=_DIR)
    try:
        os.ftruncate(fd, nbytes)
    finally:
        os.close(fd)
    _made.add(path)
    return numpy.ndarray(shape, dtype=dtype, buffer=_map(path, nbytes))


def shared_copy(array: numpy.ndarray) -> numpy.ndarray:
    """A row-major copy of ``array`` whose memory other processes can map (see ``location``)."""
    out = shared_empty(array.shape, array.dtype)
    out[...] = array
    return out


def _root(array: numpy.ndarray):
    while isinstance(array, numpy.ndarray) and array.base is not None:
        array = array.base
    return array


def is_shared(array) -> bool:
    """Whether ``array`` lives in memory made by ``shared_copy`` (in this process or another)."""
    root = _root(array)
    return isinstance(root, mmap.mmap) and root in _paths


def location(array: numpy.ndarray) -> tuple[str, int, int]:
    """(file, byte offset of the first element, file size) of a shared array, for ``attach`` elsewhere."""
    mapping = _root(array)
    start = numpy.frombuffer(mapping, dtype=numpy.uint8, count=1).__array_interface__["data"][0]
    return _paths[mapping], array.__array_interface__["data"][0] - start, len(mapping)


def attach(path: str, offset: int, nbytes: int, shape: tuple, strides: tuple, dtype: str) -> numpy.ndarray:
    """The array another process described with ``location``, in the same memory (one mapping per file)."""
    mapping = _mapped.get(path)
    if mapping is None:
        mapping = _map(path, nbytes)
    return numpy.ndarray(shape, dtype=numpy.dtype(dtype), buffer=mapping, offset=offset, strides=strides)
