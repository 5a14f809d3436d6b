"""Real torchvision on gpugrad: its classification models (forward and backward), transforms v1 and v2,
datasets, utils and the ops with a pure-Python road, each printed OK or FAIL with the error.

torchvision's compiled operators (nms, deform_conv2d ...) need PyTorch's C++ runtime: they cannot load, and
torchvision says so when one is called. Its Python loads as on PyTorch. Run (torchvision 0.28.0's wheel
unpacked into a folder, without installing it beside torch: pip download torchvision==0.28.0 --no-deps, unzip):

    PYTHONPATH=TORCHVISION_DIR python bench/compat/shim.py --fw gg bench/compat/torchvision_driver.py
"""
import traceback

import numpy as np
import torch
import torchvision
import torchvision.transforms.v2 as T2
from PIL import Image
from torchvision import datasets, models, ops, utils
from torchvision import transforms as T

MODELS = ["resnet18", "resnet50", "resnext50_32x4d", "wide_resnet50_2", "vgg11", "alexnet", "mobilenet_v2",
          "mobilenet_v3_small", "efficientnet_b0", "efficientnet_v2_s", "densenet121", "squeezenet1_0",
          "shufflenet_v2_x0_5", "mnasnet0_5", "regnet_y_400mf", "convnext_tiny", "vit_b_16", "swin_t", "maxvit_t",
          "googlenet", "inception_v3"]


def model_step(name: str):
    kwargs = {"aux_logits": False, "init_weights": True} if name in ("googlenet", "inception_v3") else {}
    model = getattr(models, name)(num_classes=10, **kwargs)
    y = model(torch.randn(2, 3, 299 if name == "inception_v3" else 224, 299 if name == "inception_v3" else 224))
    y.sum().backward()
    return tuple(y.shape)


image = Image.fromarray((np.random.default_rng(0).random((40, 50, 3)) * 255).astype(np.uint8))
CHECKS = {
    "transforms v1 on PIL": lambda: T.Compose([T.RandomResizedCrop(32), T.RandomHorizontalFlip(), T.ColorJitter(0.2, 0.2, 0.2, 0.1),
                                               T.ToTensor(), T.Normalize([0.5] * 3, [0.2] * 3)])(image).shape,
    "transforms v1 on tensors": lambda: T.Compose([T.Resize(24), T.CenterCrop(20), T.RandomRotation(10), T.GaussianBlur(3),
                                                   T.RandomErasing(p=1.0)])(torch.rand(3, 40, 50)).shape,
    "transforms v2": lambda: T2.Compose([T2.ToImage(), T2.RandomResizedCrop(32, antialias=True), T2.ToDtype(torch.float32, scale=True),
                                         T2.Normalize([0.5] * 3, [0.2] * 3)])(image).shape,
    "AutoAugment, TrivialAugmentWide": lambda: [t()(torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)).shape
                                                for t in (T2.AutoAugment, T2.TrivialAugmentWide)],
    "FakeData through a DataLoader": lambda: next(iter(torch.utils.data.DataLoader(
        datasets.FakeData(8, (3, 16, 16), 10, transform=T.ToTensor()), batch_size=4)))[0].shape,
    "make_grid, draw_bounding_boxes": lambda: (utils.make_grid(torch.rand(4, 3, 8, 8), nrow=2).shape, utils.draw_bounding_boxes(
        torch.zeros(3, 20, 20, dtype=torch.uint8), torch.tensor([[1, 1, 10, 10]]), colors="red").shape),
    "box_iou, roi_align, sigmoid_focal_loss": lambda: (ops.box_iou(torch.tensor([[0., 0, 10, 10]]), torch.tensor([[5., 5, 15, 15]])).tolist(),
                                                      ops.roi_align(torch.rand(1, 2, 8, 8), [torch.tensor([[0., 0, 4, 4]])], 2).shape,
                                                      round(ops.sigmoid_focal_loss(torch.randn(4, 3), torch.rand(4, 3), reduction="mean").item(), 4)),
    "FeaturePyramidNetwork": lambda: [v.shape for v in ops.FeaturePyramidNetwork([4, 8], 6)(
        {"a": torch.rand(1, 4, 8, 8), "b": torch.rand(1, 8, 4, 4)}).values()],
    "deeplabv3 forward": lambda: models.segmentation.deeplabv3_mobilenet_v3_large(
        weights=None, weights_backbone=None, num_classes=3).eval()(torch.rand(1, 3, 64, 64))["out"].shape,
    "r3d_18 forward": lambda: models.video.r3d_18(num_classes=5)(torch.rand(1, 3, 4, 32, 32)).shape,
    "nms (compiled: refused)": lambda: ops.nms(torch.tensor([[0., 0, 10, 10]]), torch.tensor([0.9]), 0.5).tolist(),
}
CHECKS.update({f"models.{name}": (lambda name=name: model_step(name)) for name in MODELS})

torch.manual_seed(0)
print("torchvision", torchvision.__version__)
for label, check in CHECKS.items():
    try:
        print(f"OK   {label}: {check()}", flush=True)
    except Exception as exc:  # noqa: BLE001  (each check reports its own failure and the run goes on)
        print(f"FAIL {label}: {type(exc).__name__}: {str(exc)[:160]}", flush=True)
        traceback.print_exc(limit=-2)
