"""What libraries built on PyTorch touch at import (timm's layers and models): torch.dtype, torch.fx.wrap,
torch.jit.annotations, torch.hub, and torch.utils.data's generic classes."""
import hashlib

import numpy as np
import pytest

import gpugrad as gg


def test_dtype_is_the_class_of_the_dtypes():
    assert all(isinstance(d, gg.dtype) for d in (gg.float32, gg.int64, gg.bool, gg.complex64))
    assert not isinstance("float32", gg.dtype)


def test_jit_annotations_are_typings():
    from typing import List, Optional

    from gpugrad.jit.annotations import BroadcastingList2
    from gpugrad.jit.annotations import List as JitList
    from gpugrad.jit.annotations import Optional as JitOptional

    assert JitList is List and JitOptional is Optional and BroadcastingList2[int] is None


def test_data_classes_take_type_parameters_where_pytorchs_do():
    from gpugrad.utils.data import (BatchSampler, DataLoader, Dataset, IterableDataset, RandomSampler, Sampler,
                                    Subset, TensorDataset)

    for cls in (Dataset, IterableDataset, Subset, Sampler, DataLoader):
        assert cls[int] is not None

    class Pairs(Dataset[tuple]):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return (i, i)

    assert Pairs()[1] == (1, 1)
    for cls in (TensorDataset, RandomSampler, BatchSampler):
        with pytest.raises(TypeError):
            cls[int]


def test_hub_downloads_once_checks_the_hash_and_loads(tmp_path, monkeypatch):
    weights = tmp_path / "served" / "tiny.safetensors"
    weights.parent.mkdir()
    gg.save({"w": gg.arange(3.0)}, weights)
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    named = weights.with_name(f"tiny-{digest[:8]}.safetensors")
    named.write_bytes(weights.read_bytes())
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "home"))
    assert gg.hub.get_dir() == str(tmp_path / "home" / "hub")
    state = gg.hub.load_state_dict_from_url(named.as_uri(), check_hash=True)
    np.testing.assert_array_equal(state["w"].numpy(), [0.0, 1.0, 2.0])
    cached = tmp_path / "home" / "hub" / "checkpoints" / named.name
    assert cached.exists()
    named.unlink()  # a second call reads the cache, not the network
    assert gg.hub.load_state_dict_from_url(named.as_uri())["w"].tolist() == [0.0, 1.0, 2.0]
    bad = weights.with_name("tiny-deadbeef.safetensors")
    bad.write_bytes(weights.read_bytes())
    with pytest.raises(RuntimeError, match="invalid hash value"):
        gg.hub.load_state_dict_from_url(bad.as_uri(), model_dir=str(tmp_path / "other"), check_hash=True)
    assert not (tmp_path / "other" / bad.name).exists()  # nothing half-written
    gg.hub.set_dir(tmp_path / "mine")
    try:
        assert gg.hub.get_dir() == str(tmp_path / "mine")
    finally:
        gg.hub._hub_dir = None
    with pytest.raises(AttributeError, match="hubconf"):
        gg.hub.load


@pytest.mark.torch
def test_names_match_pytorchs():
    torch = pytest.importorskip("torch")
    assert isinstance(torch.float32, torch.dtype)
    for name in ("load_state_dict_from_url", "download_url_to_file", "get_dir", "set_dir", "HASH_REGEX", "urlparse",
                 "_get_torch_home"):
        assert hasattr(torch.hub, name) and hasattr(gg.hub, name)
    assert gg.hub.HASH_REGEX.pattern == torch.hub.HASH_REGEX.pattern
    import torch.jit.annotations as theirs

    import gpugrad.jit.annotations as ours

    for name in ("List", "Tuple", "Dict", "Optional"):
        assert getattr(ours, name) is getattr(theirs, name)


def test_pytree_flattens_as_pytorchs():
    import collections

    from gpugrad.utils import _pytree as pytree

    Pair = collections.namedtuple("Pair", "x y")
    tree = {"b": [1, None, (2, Pair(3, [4]))], "a": collections.OrderedDict(z=5)}
    leaves, spec = pytree.tree_flatten(tree)
    assert leaves == [1, None, 2, 3, 4, 5] and spec.num_leaves == 6  # dicts in insertion order, None a leaf
    rebuilt = pytree.tree_unflatten([x * 10 if isinstance(x, int) else x for x in leaves], spec)
    assert rebuilt == {"b": [10, None, (20, Pair(30, [40]))], "a": collections.OrderedDict(z=50)}
    assert isinstance(rebuilt["b"][2][1], Pair)
    assert pytree.tree_map(lambda a, b: a + b, [1, (2,)], [10, (20,)]) == [11, (22,)]
    assert pytree.tree_map_only(int, lambda x: -x, [1, "a", 2.0]) == [-1, "a", 2.0]
    assert pytree.tree_leaves([1, [2]], is_leaf=lambda x: isinstance(x, list)) == [[1, [2]]]
    with pytest.raises(ValueError, match="has length 1 but the spec refers to a pytree that holds 6 items"):
        pytree.tree_unflatten([1], spec)
    with pytest.raises(ValueError, match="different structures"):
        pytree.tree_map(lambda a, b: a, [1, 2], [1, [2]])

    class Box:
        def __init__(self, v):
            self.v = v

    pytree.register_pytree_node(Box, lambda b: ([b.v], None), lambda c, _: Box(c[0]))
    try:
        assert pytree.tree_map(lambda x: x + 1, [Box(1)])[0].v == 2
    finally:
        del pytree.SUPPORTED_NODES[Box]


def test_sdpa_backends_are_kept_and_read_back():
    from gpugrad.nn.attention import SDPBackend, sdpa_kernel

    q = gg.randn(1, 2, 4, 8)
    want = gg.nn.functional.scaled_dot_product_attention(q, q, q)
    with sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.MATH]):
        assert gg.backends.cuda.flash_sdp_enabled() and not gg.backends.cuda.cudnn_sdp_enabled()
        got = gg.nn.functional.scaled_dot_product_attention(q, q, q)
    assert gg.backends.cuda.cudnn_sdp_enabled()
    np.testing.assert_array_equal(got.numpy(), want.numpy())  # one implementation, whichever are enabled
    with pytest.raises(AssertionError, match="Backend must be an instance of SDPBackend"):
        sdpa_kernel("flash")
    with pytest.warns(FutureWarning, match="sdp_kernel"):
        with gg.backends.cuda.sdp_kernel(enable_flash=False):
            assert not gg.backends.cuda.flash_sdp_enabled()
    assert gg.backends.cuda.flash_sdp_enabled()


def test_version_is_pytorchs_api_level_with_gpugrads_release():
    from importlib.metadata import version

    api, _, local = gg.__version__.partition("+")
    assert tuple(int(p) for p in api.split(".")) >= (2, 0, 0) and local == f"gpugrad.{gg.version.release}"
    assert gg.version.release == version("gpugrad")
    assert gg.compiler.allow_in_graph(len) is len


@pytest.mark.torch
def test_pytree_and_attention_names_match_pytorchs():
    torch = pytest.importorskip("torch")
    import collections

    import torch.utils._pytree as theirs

    from gpugrad.utils import _pytree as ours

    Pair = collections.namedtuple("Pair", "x y")
    tree = {"b": [1, None, (2, Pair(3, [4]))], "a": collections.OrderedDict(z=5), "c": collections.deque([6])}
    assert ours.tree_leaves(tree) == theirs.tree_leaves(tree)
    assert ours.tree_structure(tree).num_leaves == theirs.tree_structure(tree).num_leaves
    from gpugrad.nn.attention import SDPBackend

    assert {m.name: m.value for m in SDPBackend} == {m: v.value for m, v in torch.nn.attention.SDPBackend.__members__.items()}
    assert gg.__version__.split("+")[0] == torch.__version__.split("+")[0]


def test_distributed_nn_is_importable_and_needs_a_process_group():
    from gpugrad.distributed import nn as dist_nn  # vector-quantize-pytorch imports it at the top

    if not gg.distributed.is_initialized():
        with pytest.raises(RuntimeError, match="init_process_group"):
            dist_nn.all_reduce(gg.ones(2, requires_grad=True))


def test_torch_utils_flattens_and_unflattens_dense_tensors():
    from gpugrad._utils import _flatten_dense_tensors, _unflatten_dense_tensors

    ts = [gg.arange(6.0).reshape(2, 3).requires_grad_(), gg.ones(4)]
    flat = _flatten_dense_tensors(ts)
    assert flat.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 1.0, 1.0, 1.0, 1.0]
    back = _unflatten_dense_tensors(flat, ts)
    assert [tuple(b.shape) for b in back] == [(2, 3), (4,)] and back[0].tolist() == ts[0].tolist()
    back[1].fill_(7.0)  # views of the flat buffer, as PyTorch's
    assert flat[-1].item() == 7.0
    _flatten_dense_tensors(ts).sum().backward()
    assert ts[0].grad.tolist() == [[1.0] * 3] * 2


def test_names_hub_libraries_import():
    # transformers and diffusers, at import or in from_pretrained / save_pretrained.
    import gpugrad.utils._pytree as pt
    from gpugrad.nn.modules.module import _EXTRA_STATE_KEY_SUFFIX

    assert _EXTRA_STATE_KEY_SUFFIX == "_extra_state"
    values, keys = pt._dict_flatten({"a": 1, "b": 2})
    assert (values, keys) == ([1, 2], ["a", "b"]) and pt._dict_unflatten([3, 4], keys) == {"a": 3, "b": 4}
    pairs, _ = pt._dict_flatten_with_keys({"a": 1})
    assert pairs[0][0].key == "a" and str(pairs[0][0]) == "['a']" and pairs[0][1] == 1
    assert gg.get_device_module("cpu") is gg.cpu and gg.get_device_module(gg.device("cuda:0")) is gg.cuda
    with pytest.raises(RuntimeError, match="does not have a corresponding module"):
        gg.get_device_module("meta")
    assert issubclass(gg.cuda.Stream, gg.Stream) and issubclass(gg.cuda.Event, gg.Event)
    assert isinstance(gg.cuda.stream(None), gg.cuda.StreamContext)
    with pytest.raises(gg.DeviceError, match="streams on CUDA devices only"):
        gg.Stream("cpu")
    with pytest.raises(NotImplementedError, match="gg.cuda.Event"):
        gg.Event()
    raw = gg.tensor([1.0, 2.0]).view(dtype=gg.int32)
    assert raw.dtype == gg.int32 and raw.view(dtype=gg.float32).tolist() == [1.0, 2.0]


def test_grad_modes_decorate_without_parentheses():
    @gg.no_grad
    def double(x):
        return x * 2

    @gg.enable_grad
    def square(x):
        return x * x

    x = gg.ones(2, requires_grad=True)
    assert not double(x).requires_grad and double.__name__ == "double"
    with gg.no_grad():
        assert square(x).requires_grad


def test_dynamo_and_inductor_settings_and_hints():
    import gpugrad._dynamo as dynamo
    import gpugrad._inductor.config as inductor_config
    from gpugrad._dynamo._trace_wrapped_higher_order_op import TransformGetItemToIndex

    assert dynamo.allow_in_graph(len) is len and dynamo.assume_constant_result(len) is len
    assert dynamo.mark_static_address(gg.zeros(2)) is None and not dynamo.is_compiling()
    assert issubclass(dynamo.exc.Unsupported, RuntimeError) and dynamo.config.capture_scalar_outputs is False
    with TransformGetItemToIndex():
        assert gg.arange(4)[gg.tensor([1, 3])].tolist() == [1, 3]
    wrapped = dynamo.OptimizedModule(gg.nn.Linear(2, 2))
    assert not isinstance(gg.nn.Linear(2, 2), dynamo.OptimizedModule) and wrapped(gg.ones(1, 2)).shape == (1, 2)
    inductor_config.coordinate_descent_tuning = True  # karpathy/llm.c sets it
    assert inductor_config.triton.unique_kernel_names


def test_removable_handles_over_dicts_of_hooks():
    from collections import OrderedDict

    from gpugrad.utils.hooks import RemovableHandle

    hooks, extra = OrderedDict(), OrderedDict()
    handle = RemovableHandle(hooks, extra_dict=extra)
    hooks[handle.id] = extra[handle.id] = print
    with handle:
        assert handle.id in hooks
    assert not hooks and not extra and RemovableHandle(hooks).id == handle.id + 1


def test_distributed_names_for_what_gpugrad_has_not_yet_say_so():
    import gpugrad.distributed as dist
    from gpugrad.distributed.device_mesh import DeviceMesh, init_device_mesh
    from gpugrad.distributed.optim import ZeroRedundancyOptimizer
    from gpugrad.distributed.tensor import DTensor

    from gpugrad.distributed.mpi import MPIProcessGroup
    from gpugrad.distributed.nccl import NCCLProcessGroup

    assert issubclass(MPIProcessGroup, dist.ProcessGroup) and issubclass(NCCLProcessGroup, dist.ProcessGroup)
    assert not isinstance(gg.zeros(1), DTensor)
    for make in (DeviceMesh, lambda: init_device_mesh("cpu", (2,)), DTensor, ZeroRedundancyOptimizer):
        with pytest.raises(NotImplementedError, match="yet"):
            make()


def test_fsdp_names_say_they_are_absent_and_share_their_objects():
    import gpugrad.distributed as dist
    from gpugrad.distributed._composable.fsdp import FSDPModule as composable_fsdp_module
    from gpugrad.distributed._tensor import DTensor as old_dtensor
    from gpugrad.distributed._tensor.experimental import implicit_replication as old_replication
    from gpugrad.distributed.fsdp import (CPUOffloadPolicy, FSDPModule, FullyShardedDataParallel, MixedPrecisionPolicy,
                                         OffloadPolicy, fully_shard)
    from gpugrad.distributed.fsdp.fully_sharded_data_parallel import FullyShardedDataParallel as fsdp1
    from gpugrad.distributed.tensor.experimental import implicit_replication

    assert dist.fsdp.FSDPModule is FSDPModule is composable_fsdp_module and fsdp1 is FullyShardedDataParallel
    assert old_dtensor is dist.tensor.DTensor and old_replication is implicit_replication
    model = gg.nn.Linear(2, 2)
    assert not isinstance(model, (FSDPModule, FullyShardedDataParallel))
    for make in (FSDPModule, lambda: fully_shard(model), lambda: FullyShardedDataParallel(model, use_orig_params=True)):
        with pytest.raises(NotImplementedError, match="no FSDP"):
            make()
    policy = MixedPrecisionPolicy(param_dtype=gg.float16)
    assert (policy.param_dtype, policy.reduce_dtype, policy.output_dtype, policy.cast_forward_inputs) == (
        gg.float16, None, None, True)
    with pytest.raises(AttributeError):
        policy.param_dtype = gg.float32  # frozen, as PyTorch's
    assert CPUOffloadPolicy().pin_memory is True and isinstance(CPUOffloadPolicy(False), OffloadPolicy)
    assert CPUOffloadPolicy(pin_memory=False) == CPUOffloadPolicy(False) != CPUOffloadPolicy()
    x = gg.ones(2)
    with implicit_replication():  # no DTensor in gpugrad: plain tensors compute as ever
        assert (x + x).tolist() == [2.0, 2.0]


def test_functional_reexports_the_torch_function_checks():
    import gpugrad.nn.functional as F

    assert F.has_torch_function is gg.overrides.has_torch_function
    assert F.handle_torch_function is gg.overrides.handle_torch_function
    assert not F.has_torch_function_unary(gg.ones(1)) and not F.has_torch_function_variadic(gg.ones(1), 2.0)
    assert gg.compiler.is_exporting() is False


def test_compiled_code_classes_exist_for_hints():
    assert gg.ScriptModule is gg.jit.ScriptModule and issubclass(gg.jit.RecursiveScriptModule, gg.nn.Module)
    assert isinstance(gg.jit.script(gg.nn.Linear(2, 2)), gg.ScriptModule)
    assert issubclass(gg.fx.GraphModule, gg.nn.Module)


def test_profiler_names_lightning_reads():
    from gpugrad.autograd.profiler import emit_itt, emit_nvtx

    assert gg.profiler.kineto_available() is True
    with emit_nvtx(enabled=False), emit_itt(enabled=False):
        pass
    with pytest.raises(NotImplementedError, match="NVTX range"), emit_nvtx():
        pass


def test_lazy_placeholders_are_named_in_nn_parameter():
    from gpugrad.nn.parameter import UninitializedBuffer, UninitializedParameter, is_lazy

    lazy = gg.nn.LazyLinear(3)
    assert isinstance(lazy.weight, UninitializedParameter) and is_lazy(lazy.weight)
    assert UninitializedBuffer is gg.nn.lazy.UninitializedBuffer
    lazy(gg.ones(2, 4))
    assert not is_lazy(lazy.weight)


def test_dynamo_is_reported_absent():
    from gpugrad._dynamo.eval_frame import is_dynamo_supported

    assert is_dynamo_supported() is False
