"""A hook handle copied with its module refers to the copy's hooks: a lazy layer that removes its own
initialising hook (torch_geometric's Linear(-1, ...), deep-copied by to_hetero) leaves the original's."""
import copy
from collections import OrderedDict

import pytest

import gpugrad as gg


def once_module(module):
    """A module whose forward pre-hook counts its call and removes itself through its handle."""

    class Once(module.nn.Module):
        def __init__(self):
            super().__init__()
            self.calls = 0
            self._hook = self.register_forward_pre_hook(self.first_call)

        def first_call(self, _module, _inputs):
            self.calls += 1
            self._hook.remove()
            del self._hook

        def forward(self, x):
            return x

    return Once()


def run_copy_then_original(module):
    original = once_module(module)
    copied = copy.deepcopy(original)
    copied(1)
    after_copy = (copied.calls, original.calls, len(copied._forward_pre_hooks), len(original._forward_pre_hooks))
    original(1)
    return after_copy, (original.calls, len(original._forward_pre_hooks))


def test_a_copied_handle_removes_the_copied_hook():
    assert run_copy_then_original(gg) == ((1, 0, 0, 1), (1, 0))


def test_a_handle_whose_dict_is_gone_copies_to_a_no_op():
    hooks = OrderedDict()
    handle = gg.utils.hooks.RemovableHandle(hooks)
    del hooks
    copy.deepcopy(handle).remove()


def test_same_as_pytorch():
    torch = pytest.importorskip("torch")
    assert run_copy_then_original(gg) == run_copy_then_original(torch)
