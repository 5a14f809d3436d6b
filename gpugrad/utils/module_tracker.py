"""``torch.utils.module_tracker``: ``ModuleTracker``, which knows which modules are running.

Inside ``with ModuleTracker() as tracker:``, ``tracker.parents`` holds the name of every module whose
forward is running (and always ``"Global"``), named as PyTorch names them: a module first seen at the top is
its class name (``"Sequential"``), its submodules ``"Sequential.0"``, ``"Sequential.0.fc"`` .... During
backward the same names come back in while the gradients pass through each module (they enter when the
gradient of one of the module's outputs is computed and leave when that of one of its inputs is), and
``tracker.is_bw`` is True. The forward side rides on ``register_module_forward_pre_hook`` /
``register_module_forward_hook`` (gpugrad/nn/module.py), the backward side on tensor hooks.
"""
from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..autograd import engine as _engine
from ..nn.module import (
    Module,
    register_module_forward_hook,
    register_module_forward_pre_hook,
)
from ..tensor import Tensor
from ._pytree import tree_flatten

if TYPE_CHECKING:
    from typing_extensions import Self  # annotations only: not a runtime dependency

__all__ = ["ModuleTracker"]

logger = logging.getLogger(__name__)


class ModuleTracker:
    """Track the module hierarchy while code runs; read ``parents`` (fully qualified names of the modules
    running, plus ``"Global"``) and ``is_bw`` from inside it::

        with ModuleTracker() as tracker:
            model(x)          # a hook or an op here sees e.g. {"Global", "MLP", "MLP.fc1"}

    As in PyTorch, names are kept per module object for the tracker's life, and a module's backward
    "leaves" only when the gradient of one of its inputs that requires grad is computed.
    """

    def __init__(self) -> None:
        self._parents = {"Global"}
        self._known_modules: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._seen_modules: weakref.WeakSet = weakref.WeakSet()
        self._hooks: list = []
        self._saw_backward = False
        self._user_enter: Callable | None = None
        self._user_exit: Callable | None = None

    @property
    def parents(self) -> set[str]:
        """The fully qualified names of the modules running now, and ``"Global"``. Once a backward pass
        has finished, only ``"Global"`` (PyTorch resets it from the engine's end-of-pass callback)."""
        if self._saw_backward and not self.is_bw:
            self._parents, self._saw_backward = {"Global"}, False
        return self._parents

    @parents.setter
    def parents(self, value: set[str]) -> None:
        self._parents = value

    @property
    def is_bw(self) -> bool:
        """Whether a backward pass is running now."""
        return bool(_engine._capturing_passes)

    def get_known_fqn(self, mod: Module) -> str | None:
        """The name this tracker gave ``mod``, or None if it has not met it."""
        return self._known_modules.get(mod)

    def register_user_hooks(self, enter: Callable | None = None, exit: Callable | None = None) -> None:
        """Also call ``enter(name, is_bw)`` / ``exit(name, is_bw)`` as each module is entered and left."""
        if enter is not None and self._user_enter is not None or exit is not None and self._user_exit is not None:
            raise AssertionError("Only one set of user hooks can be registered")
        self._user_enter = enter if enter is not None else self._user_enter
        self._user_exit = exit if exit is not None else self._user_exit

    def clear_user_hooks(self) -> None:
        self._user_enter = self._user_exit = None

    def _get_mod_name(self, mod: Module) -> str:
        if mod not in self._known_modules:
            self._known_modules[mod] = type(mod).__name__
        name = self._known_modules[mod]
        if mod not in self._seen_modules:
            for child_name, child in mod.named_children():
                self._known_modules[child] = f"{name}.{child_name}"
                self._get_mod_name(child)
            self._seen_modules.add(mod)
        return name

    def _enter(self, name: str, is_bw: bool) -> None:
        if is_bw:
            self._saw_backward = True
        if name in self.parents:
            logger.info("The module hierarchy tracking seems to be broken as this Module was already entered. "
                        "%s during %s", name, "backward" if is_bw else "forward")
        self.parents.add(name)
        if self._user_enter is not None:
            self._user_enter(name, is_bw)

    def _leave(self, name: str, is_bw: bool) -> None:
        if name in self.parents:
            self.parents.remove(name)
        else:
            logger.info("The Module hierarchy tracking is confused as we're exiting a Module that was never "
                        "entered. %s during %s", name, "backward" if is_bw else "forward")
        if self._user_exit is not None:
            self._user_exit(name, is_bw)

    def _on_grads(self, tensors: list, action: Callable[[], None]) -> None:
        """Call ``action`` once, when the first of ``tensors``' gradients is computed."""
        done = [False]

        def hook(grad: Tensor) -> None:
            if not done[0]:
                done[0] = True
                action()

        self._hooks.extend(t.register_hook(hook) for t in tensors)

    @staticmethod
    def _grad_tensors(value: Any) -> list:
        leaves, _ = tree_flatten(value)
        return [t for t in leaves if isinstance(t, Tensor) and t.requires_grad]

    def _fw_pre_hook(self, mod: Module, args: tuple) -> None:
        name = self._get_mod_name(mod)
        self._enter(name, False)
        inputs = self._grad_tensors(args)
        if inputs:
            self._on_grads(inputs, lambda: self._leave(name, True))

    def _fw_post_hook(self, mod: Module, args: tuple, output: Any) -> None:
        name = self._get_mod_name(mod)
        self._leave(name, False)
        outputs = self._grad_tensors(output)
        if outputs:
            self._on_grads(outputs, lambda: self._enter(name, True))

    def __enter__(self) -> Self:
        self._fw_pre_handle = register_module_forward_pre_hook(self._fw_pre_hook)
        self._fw_post_handle = register_module_forward_hook(self._fw_post_hook)
        return self

    def __exit__(self, *exc: object) -> None:
        self._fw_pre_handle.remove()
        self._fw_post_handle.remove()
        for handle in self._hooks:
            handle.remove()
        self._hooks.clear()
