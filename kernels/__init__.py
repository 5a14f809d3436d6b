"""gpugrad.kernels: fused Numba kernels for the CPU and NVIDIA GPUs.

Independent of the rest of gpugrad (imports nothing from it) and importable
without numba-cuda: CUDA kernels are compiled lazily on first launch.

Every operation has a `reference_*` twin written with plain `xp` operations
(NumPy or CuPy), which is both the readable specification and the test oracle,
and ONE public launcher taking the reference's arguments plus keywords

    impl:   "reference" | "cpu" (Numba CPU, parallel) | "cuda" | None
    stream: numba CUDA stream for impl="cuda" (default: CuPy's current stream)

impl=None picks "reference" when GPUGRAD_FUSED=0 at import (or after
set_fused(False); `with fused(False):` for a block), else "cpu" for xp=numpy
and "cuda" otherwise. Only float32 and float64 arrays
are accepted; shape/dtype mismatches raise before anything is launched.

Families and launchers (xp is the array module, numpy or cupy):

activation   KINDS = relu, leaky_relu, sigmoid, tanh, gelu, gelu_tanh, silu, softplus, elu, selu,
             celu, hardswish, mish
    SAVES_OUTPUT: dict[str, bool]   backward takes y (True) or x (False)
    forward(xp, kind, x, param=0.0, *, out=None, impl=None, stream=None) -> y
    backward(xp, kind, gy, saved, param=0.0, *, out=None, impl=None, stream=None) -> gx
    reference_forward / reference_backward: same, without impl/stream.
    param is leaky_relu's negative_slope (callers pass 0.01 for PyTorch's default).

linear       (around a GEMM the caller does with BLAS/cuBLAS; kind may be "identity")
    bias_act_forward(xp, kind, z, bias, param=0.0, *, impl=None, stream=None) -> (pre, y)
        pre = z + bias, y = act(pre); pre is None when SAVES_OUTPUT[kind] or
        kind == "identity", and is z itself when bias is None.
    bias_act_backward(xp, kind, gy, saved, param=0.0, *, need_bias_grad=True,
                      impl=None, stream=None) -> (gz, gbias)
        saved = y if SAVES_OUTPUT[kind] else pre (ignored for "identity", where
        gz is gy itself); gbias = gz summed over rows, or None.
    matmul_bias_act(xp, a, b, bias, kind, param=0.0, *, impl=None, stream=None) -> (pre, y)
        tiled shared-memory CUDA matmul with the same epilogue; "cpu" is
        BLAS + the epilogue kernel.
    needs_pre(kind) -> bool

softmax      (over the rows of 2-D (rows, n) arrays; the caller moves the softmax dim last)
    softmax_forward(xp, x, *, log=False, impl=None, stream=None) -> y
        softmax of each row, or log_softmax with log=True.
    softmax_backward(xp, gy, y, *, log=False, impl=None, stream=None) -> gx
        from the upstream gradient and the forward's output.
    reference_forward / reference_backward: same, without impl/stream.

layer_norm   (over the rows of 2-D (rows, n) arrays: the normalised dims flattened into n)
    layer_norm_forward(xp, x, weight, bias, eps, *, impl=None, stream=None) -> (y, mean, rstd)
        weight and bias (n,) or None; mean and rstd (rows,) for the backward.
    layer_norm_backward(xp, gy, x, mean, rstd, weight, *, need_param_grads=True, impl=None,
                        stream=None) -> (gx, gweight, gbias)   the last two None without need_param_grads
    reference_forward / reference_backward: same, without impl/stream.

batch_norm   (per channel of 3-D (N, C, S) arrays: an (N, C, ...) input with its positions flattened)
    batch_norm_forward(xp, x, weight, bias, eps, running_mean=None, running_var=None, *, training=True,
                       impl=None, stream=None) -> (y, mean, invstd, var)
        training: batch statistics (var biased; the caller updates running statistics); else the running ones.
    batch_norm_backward(xp, gy, x, mean, invstd, weight, *, training=True, need_param_grads=True,
                        impl=None, stream=None) -> (gx, gweight, gbias)
    reference_forward / reference_backward: same, without impl/stream.

group_norm   (3-D (N, C, S) arrays in G groups of C / G channels; rows (n, g) contiguous)
    group_norm_forward(xp, x, groups, weight, bias, eps, *, impl=None, stream=None) -> (y, mean, rstd)
        mean and rstd (N, G) for the backward; weight and bias (C,) or None.
    group_norm_backward(xp, gy, x, groups, mean, rstd, weight, *, need_param_grads=True, impl=None,
                        stream=None) -> (gx, gweight, gbias)
    reference_forward / reference_backward: same, without impl/stream.

embedding    (the lookup's backward; deterministic: sorted ids, one owner per row, no atomics)
    embedding_backward(xp, gy, ids, num, padding_idx=-1, scale_grad_by_freq=False, *, impl=None,
                       stream=None) -> gweight (num, dim)     gy (n, dim), ids (n,)
    reference_backward: same, without impl/stream.

softmax_xent
    softmax_cross_entropy(xp, logits, target, *, ignore_index=-100,
                          label_smoothing=0.0, weight=None, reduction="none",
                          need_grad=True, impl=None, stream=None, op=OP)
        -> (loss, dlogits, denominator)    PyTorch's loss ("none": per row;
        "sum"/"mean": 0-d, reduced in the same launch) and d loss_i / d logits_i
        (None without need_grad); the reduced loss's gradient is dlogits /
        denominator. Out-of-range targets raise IndexError (flagged by the kernel).

optim        (flat buffers updated in place; torch.optim formulas; return None; every step takes
              maximize=False, impl=None, stream=None as keywords)
    sgd(xp, p, g, momentum_buf, *, lr, momentum=0.0, dampening=0.0, nesterov=False,
        weight_decay=0.0, first_step=False)
    adam(xp, p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, *, lr, beta1, beta2, eps,
         weight_decay=0.0, decoupled_weight_decay=False, amsgrad=False, step)
    rmsprop(xp, p, g, square_avg, momentum_buf, grad_avg, *, lr, alpha, eps,
            weight_decay=0.0, momentum=0.0, centered=False)
    adagrad(xp, p, g, state_sum, *, lr, lr_decay=0.0, weight_decay=0.0, eps=1e-10, step)
    adamax(xp, p, g, exp_avg, exp_inf, *, lr, beta1, beta2, eps, weight_decay=0.0, step)
    adadelta(xp, p, g, square_avg, acc_delta, *, lr, rho, eps, weight_decay=0.0)
    nadam(xp, p, g, exp_avg, exp_avg_sq, *, lr, beta1, beta2, eps, weight_decay=0.0,
          momentum_decay=4e-3, decoupled_weight_decay=False, step, mu_product) -> new mu_product
    radam(xp, p, g, exp_avg, exp_avg_sq, *, lr, beta1, beta2, eps, weight_decay=0.0,
          decoupled_weight_decay=False, step)
    asgd(xp, p, g, ax, *, eta, mu, lambd, weight_decay=0.0)
    rprop(xp, p, g, prev, step_size, *, etaminus, etaplus, step_size_min, step_size_max)
    sum_of_squares(xp, g, *, impl=None, stream=None) -> float
    adam_capturable(xp, p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, *, steps, lr, bounds=None, beta1,
                    beta2, eps, weight_decay=0.0, decoupled_weight_decay=False, amsgrad=False)
        Adam with the step counts (and a Tensor lr) read on the device, for CUDA graphs: nothing of
        the step comes from the host, so a replay advances bias correction.
    reference_<name> for each: the plain formulas (no impl/stream).

philox       (counter-based uniforms; state: a uint64[2] (seed, offset) array on the arrays' device)
    uniform(xp, state, n, dtype=float32, *, out=None, impl=None, stream=None) -> (n,) in [0, 1)
        element i from Philox4x32-10 word offset + i (float32, 24 bits) or words offset + 2i, 2i + 1
        (float64, 53 bits); the offset advanced on the device, in whole blocks of 4 words.
    reference_uniform, reference_philox4x32 (Random123's algorithm; the known-answer oracle).

conv         (geometry: kernel (kh, kw), stride, pads (top, bottom, left, right), dilation; a
              ConvGeometry holds them with the output size and unpacks into these arguments)
    im2col(xp, x, kernel, stride, pads, dilation, *, impl=None, stream=None) -> cols
        (C*kh*kw, N*oh*ow) receptive fields of x (N, C, H, W), zero outside it.
    col2im(xp, cols, shape, kernel, stride, pads, dilation, *, impl=None, stream=None) -> x
        the adjoint: column entries summed back where im2col read them.
    reference_im2col / reference_col2im, output_size, check_geometry, windows.

conv_rows    (im2col transposed, each tap's channels side by side; CPU only, the GPU keeps conv's columns)
    im2col_rows(xp, x, kernel, stride, pads, dilation, *, impl=None) -> (N*oh*ow, kh*kw*C) rows
    col2im_rows(xp, rows, shape, kernel, stride, pads, dilation, *, impl=None) -> x   (the adjoint)
    rows_to_nchw(xp, z, bias, shape, *, impl=None) -> (N, C, oh, ow) from z (N*oh*ow, C), plus bias
    rows_weight / weight_from_rows: a (C_out, C, kh, kw) weight as (C_out, kh*kw*C) and back.
    reference_im2col_rows / reference_col2im_rows / reference_rows_to_nchw: the same bits.

pool
    max_pool2d(xp, x, kernel, stride, pads, dilation, *, impl=None, stream=None)
        -> (y, index)   each window's first maximum (NaN wins) and its h * W + w.
    max_pool2d_backward(xp, gy, index, shape, kernel, stride, pads, dilation, *,
                        impl=None, stream=None) -> gx
    reference_max_pool2d / reference_max_pool2d_backward.

reduce       (sums of 2-D (rows, n) arrays over either axis: sum and mean over a tensor's last dims, or its
             leading ones; CPU only)
    sum_rows(xp, x, *, impl=None) -> (rows,)   vectorised, in blocks with float64 block sums; CuPy's
        own sum on a GPU.
    sum_leading(xp, x, *, impl=None) -> (n,)   over axis 0: float32 rows added in float64 and rounded once,
        float64 in NumPy's order (its bits); CuPy's own sum on a GPU.
    reference_sum_rows / reference_sum_leading: the same, NumPy's sum.

recurrent    (the pointwise part of one LSTM/GRU step, after the gate GEMMs; 2-D (N, .) arrays)
    lstm_forward(xp, gates, c_prev, *, impl=None, stream=None) -> (h, c, ws)
        gates (N, 4H) pre-activation in order i, f, g, o; ws (N, 5H) = i, f, g, o, tanh(c).
    lstm_backward(xp, gh, gc, ws, c_prev, *, impl=None, stream=None) -> (d_gates, d_c_prev)
    gru_forward(xp, gi, gh, h_prev, *, impl=None, stream=None) -> (h, ws)
        gi, gh (N, 3H) in order r, z, n; n = tanh(gi_n + r * gh_n), h = (1 - z) * n + z * h_prev;
        ws (N, 4H) = r, z, n, gh_n.
    gru_backward(xp, gy, ws, h_prev, *, impl=None, stream=None) -> (d_gi, d_gh, d_h_prev)
    reference_<name> for each (no impl/stream).

arithmetic   (the backward of elementwise arithmetic, in one pass)
    div_backward(xp, gy, a, b, *, impl=None, stream=None, split=None) -> (ga, gb)   gy / b and
        -((gy / b) * a / b) for arrays of one shape: the reference's bits; split (gpugrad.threads.split)
        shares the CPU pass among threads.
    reference_div_backward: the same, as the array module's operators.

broadcast    (+ - * / with one operand repeating along the other's leading and trailing dims; CPU only)
    binary(xp, op, a, b, *, impl=None, how=None) -> a op b    op in OPS = add, sub, mul, div; NumPy's bits, at
        memory speed where NumPy's broadcasting runs at half; CuPy's own on a GPU.
    plan(a_shape, b_shape) -> (a is the full operand, (P, Q, R)) or None where it does not apply.
    reference_binary: the same, the array module's operators.

rows_copy    (a C-contiguous copy of a large array over Numba's threads, by flat ranges or rows; CPU only)
    copy(x) -> C-contiguous copy, or None (small, float16, leading axes that do not merge); NumPy's bits.
        An expanded last axis is written as a fill. CuPy's own copy on a GPU.
    reference_copy: the same, the array module's copy.

transpose    (a C-contiguous copy of a view transposed in its last two axes, by tiles; CPU only)
    copy(x) -> C-contiguous copy, or None where x's leading axes do not merge; NumPy's bits, any dtype Numba
        compiles; is_transposed(x) says where it applies (the backend's copy asks). CuPy's own copy on a GPU.
    reference_copy: the same, the array module's copy.

scan         (running sums and products along one axis, in a float64 accumulator: PyTorch's CPU bits; CPU only)
    scan(xp, op, x, axis, reverse=False, *, impl=None) -> running "sum" or "prod" of float32/float64 x,
        from the end when reverse (cumsum's backward); CuPy's own scan on a GPU.
    reference_scan: the same, NumPy's cumsum/cumprod in float64.

gather       (along one axis of arrays seen as (pre, n, post); CPU only, CuPy's own calls on a GPU)
    gather_along(xp, x, idx, axis) -> x[p, idx[p, i, q], q];  scatter_add_along(xp, out, idx, src, axis) and
    index_add(xp, out, idx, src, axis): np.add.at's bits on any thread count (no two threads share an output);
    topk_indices(xp, x, k, largest, axis): the k best of each line under the stable sort's order (a heap);
    sort_keys_f32(xp, x, descending): packed uint64 keys whose quicksort is the stable float32 sort.
    reference_<name> for each: NumPy's indexing, np.add.at and stable argsort.

shape        (the copies of the shape ops; CPU only)
    flip_copy(xp, x, axis) -> x reversed along axis, C-contiguous;  triangle(xp, x, k, lower) -> tril/triu.
    reference_flip_copy / reference_triangle: NumPy's flip and where over np.tri, the same bytes.

_launch      launch(), re-exporting resolve_impl, cuda_available() (never raises), launch_dims;
             the layer is small files by concern (_dispatch, _checks, _scalar, _clone, _cuda,
             _grid, _numba_cuda_internals; _numba_internals: Numba's private CPU code generation, so that
             a parallel build loaded from the disk cache runs the fresh compile's code).
set_fused(enabled) -> previous, fused(enabled) (a context manager), fused_enabled()

Each family module also exposes cuda_kernel_specs() -> [(label, pyfunc,
signature, dtype)], which the PTX test compiles for sm_90.
"""

from . import activation, arithmetic, batch_norm, broadcast, conv, embedding, gather, group_norm, layer_norm, linear, optim, philox, pool, recurrent, reduce, rows_copy, scan, shape, softmax, softmax_xent, transpose
from ._dispatch import fused, fused_enabled, set_fused
from ._launch import cuda_available, resolve_impl

# Every kernel family with CUDA kernels, for what must cover them all (the PTX compile, the launch tests, the
# cuda-marked tests); reduce, broadcast, scan, rows_copy, transpose, gather and shape have none (CuPy's own).
FAMILIES = (activation, arithmetic, linear, softmax, softmax_xent, layer_norm, batch_norm, group_norm, embedding, optim, conv, pool, recurrent, philox)

__all__ = [
    "FAMILIES", "activation", "arithmetic", "batch_norm", "broadcast", "conv", "embedding", "gather", "group_norm", "layer_norm", "linear", "optim", "pool", "recurrent", "reduce", "rows_copy", "scan", "shape", "softmax", "softmax_xent", "transpose", "cuda_available", "fused", "fused_enabled", "set_fused",
    "resolve_impl",
]
