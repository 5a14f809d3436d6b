"""AdaptiveLogSoftmaxWithLoss: the adaptive softmax of Grave et al. (2017), as ``torch.nn``'s.

Classes below ``cutoffs[0]`` (the shortlist) are scored by the head alone; every later range of classes is
a cluster, with one head logit for the whole cluster and a two-layer low-rank projection (``tail[i]``)
scoring the classes inside it. log p(class) = log p_head(cluster) + log p_cluster(class). Everything is
composed from differentiable ops (linear, log_softmax, integer indexing, cat), so gradients come free.
"""
from __future__ import annotations

from collections import namedtuple
from typing import Sequence

from ..autograd.grad_mode import no_grad
from ..errors import ArgumentError, DTypeError, ShapeError
from ..ops.shape import cat
from ..tensor import Tensor
from . import functional as F
from .functional import _const
from .linear import Linear
from .module import Module, ModuleList, Sequential

__all__ = ["AdaptiveLogSoftmaxWithLoss"]

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


class AdaptiveLogSoftmaxWithLoss(Module):
    """Adaptive softmax over ``n_classes`` classes sorted by decreasing frequency.

    ``cutoffs`` (increasing, unique, in [1, n_classes - 1]) split the classes into the head's shortlist
    [0, cutoffs[0]) and clusters [cutoffs[i], cutoffs[i + 1]); cluster i (from 1) projects the input to
    ``in_features // div_value ** i`` features first. ``forward(input, target)`` returns
    ``(output, loss)``: each target's log-probability and their negated mean; ``log_prob`` gives the full
    (N, n_classes) log-distribution and ``predict`` its argmax.
    """

    def __init__(self, in_features: int, n_classes: int, cutoffs: Sequence[int], div_value: float = 4.0,
                 head_bias: bool = False, device=None, dtype=None) -> None:
        super().__init__()
        cutoffs = list(cutoffs)
        if len(cutoffs) == 0:
            raise ValueError("cutoffs should be a sequence of length larger than 0")
        if (cutoffs != sorted(cutoffs) or min(cutoffs) <= 0 or max(cutoffs) > n_classes - 1
                or len(set(cutoffs)) != len(cutoffs) or any(int(c) != c for c in cutoffs)):
            raise ValueError("cutoffs should be a sequence of unique, positive integers sorted in an increasing "
                             "order, where each value is between 1 and n_classes-1")
        self.in_features = in_features
        self.n_classes = n_classes
        self.cutoffs = cutoffs + [n_classes]
        self.div_value = div_value
        self.head_bias = head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        self.head = Linear(in_features, self.head_size, bias=head_bias, device=device, dtype=dtype)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hsz = int(in_features // (div_value ** (i + 1)))
            osz = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(Sequential(
                Linear(in_features, hsz, bias=False, device=device, dtype=dtype),
                Linear(hsz, osz, bias=False, device=device, dtype=dtype),
            ))

    def reset_parameters(self) -> None:
        """Re-draw every weight as at construction."""
        self.head.reset_parameters()
        for i2h, h2o in self.tail:
            i2h.reset_parameters()
            h2o.reset_parameters()

    def forward(self, input_: Tensor, target_: Tensor) -> _ASMoutput:
        """Each target's log-probability (N,) and the loss, their negated mean; unbatched: (), ()."""
        # PyTorch's checks and messages (RuntimeErrors there; ShapeError is one too).
        if target_.ndim == 1:
            if input_.shape[0] != target_.shape[0]:
                raise ShapeError("Input and target should have the same size in the batch dimension.")
            if input_.ndim != 2:
                raise ShapeError("1D target tensor expects 2D input tensors, but found inputs with size "
                                 f"{input_.shape}")
        elif target_.ndim == 0:
            if input_.ndim != 1:
                raise ShapeError("0D target tensor expects 1D input tensors, but found inputs with size "
                                 f"{input_.shape}")
        else:
            raise ShapeError("0D or 1D target tensor expected, multi-target not supported")
        if target_._array.dtype.kind not in "iu":
            raise DTypeError("AdaptiveLogSoftmaxWithLoss: expected an integer target of class indices, got "
                             f"{target_.dtype}")
        batched = target_.ndim > 0
        input = input_ if batched else input_.unsqueeze(0)
        t = target_._array.reshape(-1)
        xp = target_._backend.xp
        if t.size and (int(t.min()) < 0 or int(t.max()) >= self.n_classes):
            raise ArgumentError(f"Target values should be in [0, {self.n_classes - 1}], but values in range "
                                f"[{int(t.min())}, {int(t.max())}] were found. ")
        # Cluster of each row: 0 for the shortlist, i for [cutoffs[i-1], cutoffs[i]).
        cluster = xp.searchsorted(xp.asarray(self.cutoffs[:-1]), t, side="right")
        in_head = xp.where(cluster == 0, t, self.shortlist_size + cluster - 1)
        rows = xp.arange(t.shape[0])
        head_logprob = F.log_softmax(self.head(input), dim=1)
        output = head_logprob[_const(input, rows), _const(input, in_head)]
        # The tail terms, cluster by cluster on the rows whose target is there, put back in row order by one
        # gather (the shortlist's rows add zero): only clusters that some target falls in are evaluated.
        pieces, order = [], []
        for i in range(1, self.n_clusters + 1):
            picked = xp.nonzero(cluster == i)[0]
            if picked.size == 0:
                continue
            local = t[picked] - self.cutoffs[i - 1]
            logprob = F.log_softmax(self.tail[i - 1](input[_const(input, picked)]), dim=1)
            pieces.append(logprob[_const(input, xp.arange(picked.shape[0])), _const(input, local)])
            order.append(picked)
        if pieces:
            shortlist_rows = xp.nonzero(cluster == 0)[0]
            pieces.insert(0, input.new_zeros(int(shortlist_rows.shape[0])))
            order.insert(0, shortlist_rows)
            where = xp.empty_like(rows)
            where[xp.concatenate(order)] = rows  # the inverse of the concatenated row order
            output = output + cat(pieces)[_const(input, where)]
        loss = (-output).mean()
        if not batched:
            output = output.squeeze(0)
        return _ASMoutput(output, loss)

    def _get_full_log_prob(self, input: Tensor, head_output: Tensor) -> Tensor:
        """(N, n_classes) log-probabilities from the input and the head's output for it."""
        head_logprob = F.log_softmax(head_output, dim=1)
        parts = [head_logprob[:, : self.shortlist_size]]
        for i in range(self.n_clusters):
            cluster_logprob = F.log_softmax(self.tail[i](input), dim=1)
            parts.append(cluster_logprob + head_logprob[:, self.shortlist_size + i: self.shortlist_size + i + 1])
        return cat(parts, dim=1)

    def log_prob(self, input: Tensor) -> Tensor:
        """Log-probabilities of all ``n_classes`` classes for each row of an (N, in_features) input."""
        return self._get_full_log_prob(input, self.head(input))

    def predict(self, input: Tensor) -> Tensor:
        """The most probable class of each row (int64, (N,)): ``log_prob(input).argmax(dim=1)``, computing
        the clusters only for rows whose best head entry is a cluster."""
        with no_grad():  # an argmax: nothing to differentiate
            head_output = self.head(input)
            output = head_output.argmax(dim=1)
            outside = output >= self.shortlist_size
            if not bool(outside.any()):
                return output
            if bool(outside.all()):
                return self._get_full_log_prob(input, head_output).argmax(dim=1)
            log_prob = self._get_full_log_prob(input[outside], head_output[outside])
            output[outside] = log_prob.argmax(dim=1)
            return output
