"""Every public top-level function pickles as a reference to itself, as torch.mean and torch.exp do:
pickle stores a function by module and qualified name, which must lead back to it (Lightning keeps
torch.mean as a logged metric's reduction and pickles it with the results)."""
import pickle

import pytest

import gpugrad as gg


def _public_functions(module):
    return {n: getattr(module, n) for n in dir(module)
            if not n.startswith("_") and callable(getattr(module, n)) and not isinstance(getattr(module, n), type)}


def test_top_level_functions_pickle_by_reference():
    unpicklable = []
    for name, f in _public_functions(gg).items():
        try:
            if pickle.loads(pickle.dumps(f)) is not f:
                unpicklable.append(name)
        except (pickle.PicklingError, AttributeError, TypeError):
            unpicklable.append(name)
    assert unpicklable == []


def test_a_reduction_held_in_a_structure_round_trips():
    held = {"reduce_fx": gg.mean, "ops": [gg.exp, gg.cat, gg.eq]}
    back = pickle.loads(pickle.dumps(held))
    assert back["reduce_fx"] is gg.mean and back["ops"] == [gg.exp, gg.cat, gg.eq]
    assert back["reduce_fx"](gg.tensor([1.0, 3.0]), axis=0).item() == 2.0


@pytest.mark.torch
def test_as_pytorch():
    torch = pytest.importorskip("torch")
    for f in (torch.mean, torch.exp, torch.cat, torch.eq):
        assert pickle.loads(pickle.dumps(f)) is f
