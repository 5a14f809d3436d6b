"""Op-table rows: reductions (gpugrad/ops/reduce.py)."""
import numpy as np

import gpugrad as gg

from .row import Row, away_from_half, away_from_zero, distinct, positive, real  # noqa: F401


def with_zeros(rng, shape):
    """Values of either sign with exact zeros: two in the first slice along the last dim, one in the
    second, none in the rest (the cases of a product's gradient)."""
    x = away_from_zero(rng, shape).reshape(-1, shape[-1])
    x[0, :2] = 0.0
    if x.shape[0] > 1:
        x[1, -1] = 0.0
    return x.reshape(shape)


def one_zero(rng, shape):
    x = away_from_zero(rng, shape).reshape(-1)
    x[len(x) // 2] = 0.0
    return x.reshape(shape)


def with_nans(rng, shape):
    """Normal values with a NaN in every other row (for the NaN-ignoring reductions)."""
    x = real(rng, shape).reshape(-1, shape[-1])
    x[::2, 0] = np.nan
    return x.reshape(shape)


def _pair(pair):
    """A pair of results folded into one tensor for the table: a + 2 b."""
    return pair[0] + 2 * pair[1]


ROWS = [
    Row("sum", lambda a: a.sum(), [((3, 4), real)]),
    Row("sum_dim_keepdim", lambda a: a.sum(dim=(0, 2), keepdim=True), [((2, 3, 4), real)], op="sum"),
    Row("sum_0d_dim", lambda a: a.sum(dim=-1), [((), real)], op="sum"),
    Row("sum_dtype", lambda a: gg.sum(a, 1, dtype=gg.float64), [((3, 4), real)], op="sum", dtypes=(gg.float64,),
        torch=lambda torch, a: torch.sum(a, 1, dtype=torch.float64)),
    Row("nansum", lambda a: gg.nansum(a, dim=1), [((4, 3), with_nans)], torch=lambda torch, a: torch.nansum(a, dim=1)),
    Row("mean", lambda a: a.mean(dim=1), [((3, 4), real)]),
    Row("nanmean", lambda a: gg.nanmean(a, dim=-1, keepdim=True), [((4, 3), with_nans)],
        torch=lambda torch, a: torch.nanmean(a, dim=-1, keepdim=True)),
    Row("prod", lambda a: a.prod(), [((2, 3), away_from_zero)]),
    Row("prod_dim_zeros", lambda a: a.prod(dim=-1), [((3, 4), with_zeros)], op="prod"),
    Row("prod_all_one_zero", lambda a: a.prod(), [((2, 3), one_zero)], op="prod"),
    Row("var", lambda a: a.var(dim=-1), [((3, 5), real)]),
    Row("var_correction0_dims", lambda a: a.var(dim=(0, 2), correction=0), [((2, 3, 4), real)], op="var"),
    Row("std", lambda a: a.std(dim=0, keepdim=True), [((4, 3), real)]),
    Row("std_all", lambda a: a.std(correction=2), [((3, 4), real)], op="std"),
    Row("var_mean", lambda a: _pair(gg.var_mean(a, dim=1)), [((3, 4), real)],
        torch=lambda torch, a: _pair(torch.var_mean(a, dim=1))),
    Row("std_mean", lambda a: _pair(gg.std_mean(a, dim=0, correction=0)), [((3, 4), real)],
        torch=lambda torch, a: _pair(torch.std_mean(a, dim=0, correction=0))),
    Row("max_all", lambda a: a.max(), [((3, 4), distinct)], op="max"),
    Row("max_dim", lambda a: a.max(dim=1).values, [((3, 4), distinct)], op="max"),
    Row("min_dim", lambda a: a.min(dim=0, keepdim=True).values, [((3, 4), distinct)], op="min"),
    Row("amax", lambda a: gg.amax(a, dim=-1), [((3, 4), distinct)], torch=lambda torch, a: torch.amax(a, dim=-1)),
    Row("amax_dims", lambda a: gg.amax(a, dim=(0, 2)), [((2, 3, 4), distinct)], op="amax",
        torch=lambda torch, a: torch.amax(a, dim=(0, 2))),
    Row("amin_dims", lambda a: gg.amin(a, dim=(1, 2), keepdim=True), [((2, 3, 4), distinct)], op="amin",
        torch=lambda torch, a: torch.amin(a, dim=(1, 2), keepdim=True)),
    Row("aminmax", lambda a: _pair(gg.aminmax(a, dim=1)), [((3, 4), distinct)],
        torch=lambda torch, a: _pair(torch.aminmax(a, dim=1))),
    Row("median_all", lambda a: a.median(), [((3, 5), distinct)], op="median"),
    Row("median_dim", lambda a: a.median(dim=1).values, [((3, 4), distinct)], op="median"),
    Row("nanmedian_dim", lambda a: a.nanmedian(dim=0, keepdim=True).values, [((5, 3), distinct)], op="nanmedian"),
    Row("quantile", lambda a: a.quantile(0.3, dim=1), [((3, 5), distinct)]),
    Row("quantile_all_q_tensor", lambda a: a.quantile(gg.tensor([0.2, 0.75], dtype=a.dtype)), [((3, 4), distinct)],
        op="quantile", torch=lambda torch, a: a.quantile(torch.tensor([0.2, 0.75], dtype=a.dtype))),
    # q's gradient through the interpolation weight (q kept where 4 q is away from an integer: a kink)
    Row("quantile_q_gradient", lambda a, q: a.quantile(0.3 + 0.04 * q.tanh(), dim=1), [((3, 5), distinct), ((2,), real)],
        op="quantile"),
    Row("nanquantile_q_gradient", lambda a, q: a.nanquantile(0.3 + 0.04 * q.tanh(), dim=1),
        [((3, 5), distinct), ((2,), real)], op="nanquantile"),
    Row("quantile_midpoint", lambda a: a.quantile(0.4, dim=0, keepdim=True, interpolation="midpoint"),
        [((4, 3), distinct)], op="quantile"),
    Row("quantile_nearest", lambda a: a.quantile(0.55, dim=-1, interpolation="nearest"), [((2, 6), distinct)],
        op="quantile"),
    Row("nanquantile", lambda a: a.nanquantile(0.6, dim=0, keepdim=True, interpolation="higher"), [((5, 3), distinct)]),
    Row("mode", lambda a: a.mode(dim=0).values, [((4, 3), distinct)]),
    Row("logsumexp", lambda a: a.logsumexp(dim=1), [((3, 5), real)]),
    Row("trapezoid", lambda y, x: gg.trapezoid(y, x, dim=0), [((4, 3), real), ((4,), real)],
        torch=lambda torch, y, x: torch.trapezoid(y, x, dim=0)),
    Row("cumulative_trapezoid", lambda y, x: gg.cumulative_trapezoid(y, x), [((2, 5), real), ((2, 5), real)],
        torch=lambda torch, y, x: torch.cumulative_trapezoid(y, x)),
    Row("cumulative_trapezoid_dx", lambda y: gg.cumulative_trapezoid(y, dx=0.5, dim=0), [((4, 3), real)],
        torch=lambda torch, y: torch.cumulative_trapezoid(y, dx=0.5, dim=0), op="cumulative_trapezoid"),
    Row("trapz", lambda y: gg.trapz(y, dx=0.5), [((3, 4), real)], torch=lambda torch, y: torch.trapz(y, dx=0.5)),
    Row("logsumexp_dims", lambda a: a.logsumexp(dim=(0, -1), keepdim=True), [((2, 3, 4), real)], op="logsumexp"),
    Row("cov", gg.cov, [((3, 5), real)], torch=lambda torch, a: torch.cov(a)),
    Row("cov_weights", lambda a: gg.cov(a, correction=2, fweights=gg.tensor([1, 2, 1, 3, 1]),
                                        aweights=gg.tensor([0.5, 1.0, 2.0, 1.5, 1.0], dtype=a.dtype)),
        [((2, 5), real)], op="cov",
        torch=lambda torch, a: torch.cov(a, correction=2, fweights=torch.tensor([1, 2, 1, 3, 1]),
                                         aweights=torch.tensor([0.5, 1.0, 2.0, 1.5, 1.0], dtype=a.dtype))),
    Row("corrcoef", gg.corrcoef, [((3, 5), real)], torch=lambda torch, a: torch.corrcoef(a)),
]
