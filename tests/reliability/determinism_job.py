"""The training run the determinism tests repeat, in this process and in fresh ones
(``python -m tests.reliability.determinism_job SEED`` prints its fingerprint as JSON)."""
from __future__ import annotations

import hashlib
import json
import sys

import numpy as np

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad import nn, optim
from gpugrad.data import DataLoader, make_spirals


def run(seed: int, steps: int = 60) -> dict:
    """Seeded init, default-generator shuffling and dropout, Adam: every random draw goes through gg's RNG.
    Returns the float32 bits of every step's loss and a digest of the final parameters."""
    gg.manual_seed(seed)
    data = make_spirals(256, noise=0.1)
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 2))
    opt = optim.Adam(model.parameters(), lr=1e-2)
    loader = DataLoader(data, batch_size=32, shuffle=True)  # no generator: draws from the default one
    losses = []
    while len(losses) < steps:
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(int(np.float32(loss.item()).view(np.uint32)))
            if len(losses) == steps:
                break
    digest = hashlib.sha256()
    for name, p in model.state_dict().items():
        digest.update(name.encode())
        digest.update(p.numpy().tobytes())
    return {"losses": losses, "params": digest.hexdigest()}


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]))))
