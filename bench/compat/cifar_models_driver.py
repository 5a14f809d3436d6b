"""Driver (ours, not from kuangliu/pytorch-cifar): every model of that repository's models/ package, built,
given the same weights under either framework (drawn from NumPy in parameter order), then trained three
SGD steps (momentum, weight decay) on one fixed batch, with the loss printed per step. Under torch and
under gpugrad the printed losses should agree to float32 rounding. Written against the torch API."""
import numpy as np
import torch
import torch.nn.functional as F
from models import *  # noqa: F401,F403

MODELS = ["VGG('VGG11')", "ResNet18()", "PreActResNet18()", "GoogLeNet()", "DenseNet121()", "ResNeXt29_2x64d()",
          "MobileNet()", "MobileNetV2()", "DPN26()", "SENet18()", "ShuffleNetV2(0.5)", "EfficientNetB0()",
          "RegNetX_200MF()", "SimpleDLA()", "DLA()", "LeNet()"]  # ShuffleNetG2 fails under torch itself

rng = np.random.default_rng(0)
x = torch.tensor(rng.standard_normal((4, 3, 32, 32)), dtype=torch.float32)
y = torch.tensor([1, 3, 5, 7])
for name in MODELS:
    net = eval(name)
    weights = np.random.default_rng(1)
    with torch.no_grad():
        for p in net.parameters():
            scale = 1.0 / np.sqrt(max(1, p[0].numel())) if p.dim() > 1 else 0.1
            p.copy_(torch.tensor(weights.standard_normal(tuple(p.shape)) * scale, dtype=torch.float32))
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    net.train()
    for step in range(3):
        loss = F.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        print(f"{name} step {step} loss {loss.item():.6f}", flush=True)
