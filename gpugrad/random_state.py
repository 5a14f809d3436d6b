"""The random generator's state in PyTorch's form: the uint8 tensor of ``torch.get_rng_state()``.

gpugrad's host stream is PyTorch's CPU Mersenne Twister (gpugrad/mt19937.py), so its state is written in the
bytes of PyTorch's ``CPUGeneratorImplState`` (5056 bytes, little-endian, C struct padding), equal byte for
byte to what PyTorch gives after the same seed and draws; a state PyTorch saved restores here, and ours there:

    offset  field
         0  uint64     the initial seed
         8  int32      left: words left before the next twist (1: twist before the next word)
        12  int32      seeded (always 1)
        16  uint64     next: index of the next word
        24  uint64[624] the Twister's words (each below 2^32)
      5016  double     normal_x (unused)
      5024  double     normal_y: the cached second normal of a pair
      5032  double     normal_rho (unused)
      5040  int32      normal_is_valid
      5048  float      the cached float normal (PyTorch's; gpugrad caches none)
      5052  bool       whether that float is valid

gpugrad's one generator also serves the devices, each from a Philox offset (gpugrad/random.py). Where some
device has one, its offsets follow the 5056 bytes as UTF-8 JSON ({"cuda:0": 40}); a host-only state is
PyTorch's exactly.
"""
from __future__ import annotations

import json
import struct

import numpy

__all__ = ["from_bytes", "to_bytes"]

_WORDS = 624
_HEAD = struct.Struct("<QiiQ")  # seed, left, seeded, next
_NORMALS = struct.Struct("<dddi")  # normal_x, normal_y, normal_rho, normal_is_valid
_FLOAT_NORMAL = struct.Struct("<f?")
_KEY_AT = _HEAD.size
_NORMALS_AT = _KEY_AT + 8 * _WORDS
SIZE = _NORMALS_AT + _NORMALS.size + 4 + _FLOAT_NORMAL.size + 3  # 5056, with the struct's padding


def to_bytes(seed: int, key: numpy.ndarray, pos: int, next_normal: float | None, device_offsets: dict,
             fresh: bool) -> bytes:
    """PyTorch's bytes for a generator: its seed, the Twister's 624 words and the position of the next one
    (NumPy's MT19937 state), the normal kept from a pair, the devices' offsets. ``fresh``: seeded and nothing
    drawn since (PyTorch then says next=0, where after 624 draws it says next=624; both twist first)."""
    head = _HEAD.pack(int(seed) % (1 << 64), _WORDS + 1 - pos, 1, 0 if fresh else pos)
    normals = _NORMALS.pack(0.0, 0.0 if next_normal is None else float(next_normal), 0.0, int(next_normal is not None))
    body = b"".join((head, numpy.asarray(key, dtype="<u8").tobytes(), normals, bytes(4),
                     _FLOAT_NORMAL.pack(0.0, False), bytes(3)))
    return body + (json.dumps(device_offsets, sort_keys=True).encode() if device_offsets else b"")


def from_bytes(data: bytes, caller: str = "set_rng_state") -> dict:
    """A state from PyTorch's bytes (``to_bytes``'s, or PyTorch's own), in the form of gpugrad's
    ``Generator._json_state`` (the words as an array)."""
    if len(data) < SIZE:
        raise RuntimeError(f"{caller}: Expected a CPUGeneratorImplState of size {SIZE} but found the input RNG "
                           f"state size to be {len(data)}")
    seed, left, _seeded, _next = _HEAD.unpack_from(data, 0)
    key = numpy.frombuffer(data, dtype="<u8", count=_WORDS, offset=_KEY_AT)
    if not 1 <= left <= _WORDS or (key >> numpy.uint64(32)).any():
        raise RuntimeError(f"{caller}: not a Mersenne Twister state (left={left}, or a word of 2^32 or more)")
    _x, normal_y, _rho, normal_valid = _NORMALS.unpack_from(data, _NORMALS_AT)
    offsets = {}
    if len(data) > SIZE:
        try:
            offsets = json.loads(bytes(data[SIZE:]).decode())
        except (UnicodeDecodeError, ValueError):
            offsets = None
        if not isinstance(offsets, dict):
            raise RuntimeError(f"{caller}: the {len(data) - SIZE} bytes after PyTorch's {SIZE} are not gpugrad's "
                               "device offsets")
    return {"seed": seed,
            "mt19937": {"key": key, "pos": _WORDS + 1 - left,
                        "next_normal": normal_y if normal_valid else None},
            "device_offsets": offsets}
