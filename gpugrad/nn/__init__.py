"""Neural-network layers, losses and initialisation, as ``torch.nn``::

    from gpugrad import nn
    import gpugrad.nn.functional as F

    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    loss = nn.CrossEntropyLoss()(model(x), labels)

Each layer file lists its public classes in ``__all__``; this package exports exactly those.
"""
from . import functional, init, parallel, utils
from . import (
    activation,
    adaptive,
    attention,
    conv,
    distance,
    dropout,
    fold,
    lazy,
    linear,
    losses,
    module,
    normalization,
    padding,
    parameter,
    pixelshuffle,
    pooling,
    rnn,
    sparse,
    sync_batchnorm,
    transformer,
    upsampling,
)
from .activation import *  # noqa: F401,F403
from .adaptive import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .distance import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .fold import *  # noqa: F401,F403
from .lazy import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .module import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .padding import *  # noqa: F401,F403
from .parallel import DataParallel  # noqa: F401
from .parameter import *  # noqa: F401,F403
from .pixelshuffle import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .rnn import *  # noqa: F401,F403
from .sparse import *  # noqa: F401,F403
from .sync_batchnorm import *  # noqa: F401,F403
from .transformer import *  # noqa: F401,F403
from .upsampling import *  # noqa: F401,F403

_LAYER_FILES = (
    activation, adaptive, attention, conv, distance, dropout, fold, lazy, linear, losses, module,
    normalization, padding, parameter, pixelshuffle, pooling, rnn, sparse, sync_batchnorm, transformer, upsampling,
)
__all__ = sorted(name for layer_file in _LAYER_FILES for name in layer_file.__all__) + ["DataParallel", "functional", "init", "parallel", "utils"]

from . import common_types, modules  # noqa: E402,F401  (torch.nn.modules' paths, over the layers above)
from . import grad  # noqa: E402,F401  (torch.nn.grad: convolution gradients)
