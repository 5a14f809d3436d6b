from . import moves
