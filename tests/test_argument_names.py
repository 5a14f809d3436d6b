"""Keyword names as PyTorch spells them: ``torch.mean(input=t)``, ``torch.eq(input=a, other=b)``, the short
casts' ``memory_format=`` and ``cuda(non_blocking=)``. Beside PyTorch, every function of gg whose
PyTorch counterpart names its first argument ``input`` in its documented signature takes ``input=``."""
import inspect
import re

import pytest

import gpugrad as gg


def test_first_argument_is_input_as_in_pytorch():
    x = gg.arange(6.0).reshape(2, 3)
    assert gg.mean(input=x).item() == 2.5
    assert gg.sum(input=x, dim=1).tolist() == [3.0, 12.0]
    assert gg.cumsum(input=x, dim=1)[:, -1].tolist() == [3.0, 12.0]
    assert gg.reshape(input=x, shape=(3, 2)).shape == (3, 2)
    assert gg.zeros_like(input=x).shape == (2, 3)
    assert gg.softmax(input=x, dim=1).sum(1).tolist() == pytest.approx([1.0, 1.0])
    assert gg.eq(input=x, other=x).all().item() and gg.all(input=x > -1).item()
    assert gg.lt(input=x, other=3.0).sum().item() == 3


def test_the_old_names_are_gone_rather_than_aliases():
    with pytest.raises(TypeError, match="x"):
        gg.mean(x=gg.ones(2))


def test_short_casts_take_memory_format():
    x = gg.randn(2, 3, requires_grad=True)
    assert x.half(memory_format=gg.preserve_format).dtype == gg.float16
    assert x.int(memory_format=gg.contiguous_format).dtype == gg.int32
    assert x.cpu(memory_format=gg.preserve_format) is x
    x.double().sum().backward()  # differentiable, as x.to(gg.float64)
    assert x.grad.tolist() == [[1.0] * 3] * 2
    with pytest.raises(TypeError, match="memory_format"):
        gg.randn(2, 3).float(memory_format="channels_last")


@pytest.mark.skipif(gg.cuda.is_available(), reason="checks the message without a GPU")
def test_cuda_takes_non_blocking_and_names_the_device():
    with pytest.raises(Exception, match="cuda"):
        gg.ones(2).cuda(non_blocking=True)


def _documented_first_argument(fn, name: str) -> str | None:
    first_line = (fn.__doc__ or "").strip().split("\n")[0]
    m = re.match(rf"^{re.escape(name)}\(([^,)]*)", first_line)
    return m.group(1).split("=")[0].split(":")[0].strip() if m else None


@pytest.mark.torch
def test_every_function_pytorch_documents_with_input_takes_input():
    torch = pytest.importorskip("torch")
    missing = []
    for name in dir(torch):
        ours = getattr(gg, name, None)
        theirs = getattr(torch, name)
        if name.startswith("_") or ours is None or isinstance(ours, type) or not callable(theirs):
            continue
        if _documented_first_argument(theirs, name) != "input":
            continue
        try:
            params = inspect.signature(ours).parameters
        except (TypeError, ValueError):
            continue
        if "input" not in params and not any(p.kind == p.VAR_KEYWORD for p in params.values()):
            missing.append(name)
    # In-place functions whose first argument is the tensor itself (gg.relu_(t)) keep ``self``.
    assert [n for n in missing if not n.endswith("_")] == []
