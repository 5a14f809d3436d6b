"""The training job behind ``gpugrad train``: models, data, the loop, evaluation, checkpoints.

Kept apart from the command line so that it can be called (and tested) as a function::

    from gpugrad.train import TrainConfig, run
    result = run(TrainConfig(model="mlp", dataset="digits", epochs=20))
    print(result["test_accuracy"])

Under a launcher (``gpugrad train --nproc N``, which runs ``gpugrad launch``) every rank runs this same
job: the model is wrapped in DistributedDataParallel, each rank reads its share of every epoch through a
DistributedSampler (``batch_size`` is per rank, as in PyTorch), and rank 0 alone shows progress, evaluates
and writes checkpoints. A checkpoint holds the unwrapped model, so ``--resume`` works with any N.
"""
from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass

import gpugrad as gg
from gpugrad import nn, optim
from gpugrad.data import DataLoader, FashionMNIST, MNIST, load_digits, make_spirals, random_split

MODELS = ("mlp", "cnn")
DATASETS = ("digits", "spirals", "mnist", "fashion-mnist")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw")


@dataclass
class TrainConfig:
    model: str = "mlp"
    dataset: str = "digits"
    data_dir: str | None = None
    optimizer: str = "adam"
    lr: float | None = None  # None: the optimizer's usual default below
    epochs: int = 30
    batch_size: int = 32
    device: str = "auto"
    seed: int = 0
    save: str | None = None
    resume: str | None = None
    plot: str | None = None
    progress: bool = True
    nproc: int = 1  # ranks; more than one needs a launcher (gpugrad train --nproc N)
    cuda_graph: bool = True  # on a GPU, full batches replay the step as one CUDA graph (see GraphedStep)


DEFAULT_LR = {"sgd": 0.1, "momentum": 0.05, "nesterov": 0.05, "rmsprop": 1e-3, "adam": 1e-3, "adamw": 1e-3}


def pick_device(name: str) -> str:
    if name == "auto":
        return "cuda" if gg.cuda.is_available() else "cpu"
    if name == "cuda" and not gg.cuda.is_available():
        raise RuntimeError(f"--device cuda: {gg.backend.cuda_unavailable_reason()}")
    return name


def load_data(cfg: TrainConfig):
    """(train set, test set, input shape, number of classes)."""
    images = cfg.model == "cnn"
    if cfg.dataset == "digits":
        full = load_digits(images=images)
        train, test = random_split(full, [0.8, 0.2], generator=gg.Generator(seed=cfg.seed))
        return train, test, tuple(full.tensors[0].shape[1:]), 10
    if cfg.dataset == "spirals":
        if images:
            raise ValueError("--model cnn needs image data: use --dataset digits, mnist or fashion-mnist")
        full = make_spirals(1000, noise=0.1, generator=gg.Generator(seed=cfg.seed))
        train, test = random_split(full, [0.8, 0.2], generator=gg.Generator(seed=cfg.seed))
        return train, test, (2,), 2
    if cfg.data_dir is None:
        raise ValueError(f"--dataset {cfg.dataset} reads IDX files from disk: pass --data-dir DIR")
    cls = MNIST if cfg.dataset == "mnist" else FashionMNIST
    train, test = cls(cfg.data_dir, train=True, flatten=not images), cls(cfg.data_dir, train=False, flatten=not images)
    return train, test, ((1, 28, 28) if images else (784,)), 10


def build_model(kind: str, in_shape: tuple, classes: int) -> nn.Module:
    if kind == "mlp":
        (features,) = in_shape
        hidden = 256 if features > 2 else 64
        return nn.Sequential(
            nn.Linear(features, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, classes)
        )
    channels, height, width = in_shape
    flat = 32 * (height // 4) * (width // 4)
    return nn.Sequential(
        nn.Conv2d(channels, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(flat, 64), nn.ReLU(), nn.Linear(64, classes),
    )


def build_optimizer(name: str, params, lr: float, capturable: bool = False) -> optim.Optimizer:
    if name == "sgd":
        return optim.SGD(params, lr=lr)
    if name == "momentum":
        return optim.SGD(params, lr=lr, momentum=0.9)
    if name == "nesterov":
        return optim.SGD(params, lr=lr, momentum=0.9, nesterov=True)
    if name == "rmsprop":
        return optim.RMSprop(params, lr=lr, capturable=capturable)
    if name == "adam":
        return optim.Adam(params, lr=lr, capturable=capturable)
    return optim.AdamW(params, lr=lr, capturable=capturable)


# Optimizers whose step a CUDA graph can replay: SGD's and RMSprop's updates read no step count, Adam's
# and AdamW's read theirs from the device when capturable. All of them, so far.
GRAPHABLE = OPTIMIZERS


class GraphedStep:
    """The training step as a CUDA graph, for ``gpugrad train`` on a GPU: each full batch is copied into
    fixed device buffers and the step captured from them replays, one launch for the whole step instead
    of one per op. The first WARMUP full batches run eagerly on the capturing stream (kernels compiled,
    optimizer state made, as a capture needs); a last, shorter batch runs eagerly."""

    WARMUP = 3

    def __init__(self, step, batch_size: int) -> None:
        self.step, self.batch_size = step, batch_size
        self.stream = gg.cuda.Stream()
        self.graph = None
        self.x = self.y = None
        self.warmed = 0

    def __call__(self, xb, yb) -> None:
        if len(yb) != self.batch_size:
            self.step(xb.to("cuda"), yb.to("cuda"))
            return
        if self.graph is not None:
            self.x.copy_(xb)
            self.y.copy_(yb)
            self.graph.replay()
            return
        with gg.cuda.stream(self.stream):
            if self.x is None:
                self.x, self.y = xb.to("cuda"), yb.to("cuda")
            else:
                self.x.copy_(xb)
                self.y.copy_(yb)
            if self.warmed < self.WARMUP:
                self.step(self.x, self.y)
                self.warmed += 1
                return
        self.graph = gg.cuda.CUDAGraph()
        with gg.cuda.graph(self.graph, stream=self.stream):
            self.step(self.x, self.y)
        self.graph.replay()  # capturing ran nothing: this batch's step


def evaluate(model: nn.Module, loader: DataLoader, device: str) -> float:
    model.eval()
    correct = total = 0
    with gg.no_grad():
        for xb, yb in loader:
            pred = model(xb.to(device)).argmax(dim=1).cpu()
            correct += int((pred == yb).sum().item())
            total += len(yb)
    model.train()
    return correct / max(total, 1)


def run(cfg: TrainConfig) -> dict:
    """Train, evaluate on the held-out split, optionally checkpoint every epoch and plot. Returns a summary."""
    from tqdm.auto import tqdm

    for name, value, allowed in (("model", cfg.model, MODELS), ("dataset", cfg.dataset, DATASETS), ("optimizer", cfg.optimizer, OPTIMIZERS)):
        if value not in allowed:
            raise ValueError(f"--{name} must be one of {', '.join(allowed)}, got {value!r}")
    if cfg.plot:
        _pyplot()  # fail before training, not after it
    dist, rank = _join_job(cfg)
    device = pick_device(cfg.device)
    gg.manual_seed(cfg.seed)
    train_set, test_set, in_shape, classes = load_data(cfg)
    net = build_model(cfg.model, in_shape, classes).to(device)
    ckpt = gg.load(cfg.resume) if cfg.resume else None
    if ckpt is not None:
        net.load_state_dict(ckpt["model"])
    model = net
    if dist is not None:
        from gpugrad.nn.parallel import DistributedDataParallel
        from gpugrad.utils.data import DistributedSampler

        model = DistributedDataParallel(net)
    lr = cfg.lr if cfg.lr is not None else DEFAULT_LR[cfg.optimizer]
    # One CUDA graph per run on a real GPU; not under DDP (its all-reduces run from backward hooks).
    graphed = (cfg.cuda_graph and device == "cuda" and gg.cuda.is_available() and dist is None
               and cfg.optimizer in GRAPHABLE)
    opt = build_optimizer(cfg.optimizer, model.parameters(), lr, capturable=graphed)
    loader_gen = gg.Generator(seed=cfg.seed)
    sampler = None
    if dist is not None:
        # The order of an epoch depends on seed and epoch alone, so a resumed run continues it with any N.
        sampler = DistributedSampler(train_set, shuffle=True, seed=cfg.seed)
        train_loader = DataLoader(train_set, batch_size=cfg.batch_size, sampler=sampler)
    else:
        train_loader = DataLoader(train_set, batch_size=cfg.batch_size, shuffle=True, generator=loader_gen)
    test_loader = DataLoader(test_set, batch_size=512)
    history = {"loss": [], "train_accuracy": [], "test_accuracy": []}
    start_epoch = 0
    progress = cfg.progress and rank == 0
    if ckpt is not None:
        opt.load_state_dict(ckpt["optimizer"])
        loader_gen.set_state(ckpt["loader_generator"])
        gg.set_rng_state(ckpt["rng"])
        history = ckpt["history"]
        start_epoch = int(ckpt["epoch"])

    # The running sums stay on the device (no graph): reading them is a host sync, which on a GPU stalls
    # the queue, so it happens only when the bar redraws (at most every tqdm mininterval) and once at the end.
    # They are zeroed in place each epoch: a captured step adds into these very tensors.
    loss_sum = gg.zeros((), dtype=gg.float64, device=device)
    correct_sum = gg.zeros((), dtype=gg.int64, device=device)

    def step(xb, yb):
        logits = model(xb)
        loss = nn.functional.cross_entropy(logits, yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss_sum.add_(loss.detach().double() * len(yb))
        correct_sum.add_((logits.detach().argmax(dim=1) == yb).sum())

    run_step = GraphedStep(step, cfg.batch_size) if graphed else (lambda xb, yb: step(xb.to(device), yb.to(device)))
    t0 = time.perf_counter()
    for epoch in range(start_epoch, cfg.epochs):
        if sampler is not None:
            sampler.set_epoch(epoch)
        loss_sum.zero_()
        correct_sum.zero_()
        seen = 0
        bar = tqdm(total=len(train_loader), desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="batch", leave=False, disable=not progress)
        tick = time.perf_counter()
        for xb, yb in train_loader:
            run_step(xb, yb)
            seen += len(yb)
            if bar.update():  # the batch is counted and tqdm just redrew: show the figures up to it
                bar.set_postfix(loss=f"{loss_sum.item() / seen:.4f}", samples_per_s=f"{seen / (time.perf_counter() - tick):.0f}")
        bar.close()
        total_loss, correct = loss_sum.item(), int(correct_sum.item())
        if dist is not None:  # the epoch's figures over all ranks' samples
            sums = gg.tensor([total_loss, seen, correct], dtype=gg.float64)
            dist.all_reduce(sums)
            total_loss, seen, correct = sums.tolist()
        history["loss"].append(total_loss / seen)
        history["train_accuracy"].append(correct / seen)
        history["test_accuracy"].append(evaluate(net, test_loader, device) if rank == 0 else None)
        if progress:
            tqdm.write(
                f"epoch {epoch + 1:>3}/{cfg.epochs}  loss {history['loss'][-1]:.4f}  "
                f"train acc {history['train_accuracy'][-1]:.4f}  test acc {history['test_accuracy'][-1]:.4f}"
            )
        if cfg.save and rank == 0:
            gg.save(
                {
                    "model": net.state_dict(),
                    "optimizer": opt.state_dict(),
                    "epoch": epoch + 1,
                    "loader_generator": loader_gen.get_state(),
                    "rng": gg.get_rng_state(),
                    "history": history,
                    "config": {k: v for k, v in asdict(cfg).items() if k not in ("resume", "save", "plot")},
                },
                cfg.save,
            )
    elapsed = time.perf_counter() - t0
    if dist is not None:  # every rank returns rank 0's figures
        box = [history]
        dist.broadcast_object_list(box, src=0)
        history = box[0]
    result = {
        "test_accuracy": history["test_accuracy"][-1] if history["test_accuracy"] else None,
        "history": history,
        "seconds": elapsed,
        "device": device,
        "cuda_graph": graphed,
        "model": net,
        "rank": rank,
    }
    if cfg.plot and rank == 0:
        plot_history(history, cfg.plot)
    return result


def _join_job(cfg: TrainConfig):
    """(gpugrad.distributed, rank) when this process is one rank of several, else (None, 0)."""
    world = int(os.environ.get("WORLD_SIZE") or 1)
    if cfg.nproc < 1:
        raise ValueError(f"--nproc must be at least 1, got {cfg.nproc}")
    if world == 1 and cfg.nproc == 1:
        return None, 0
    if world != cfg.nproc:
        raise RuntimeError(
            f"nproc={cfg.nproc} but this process is one of {world}: start several ranks with "
            "`gpugrad train --nproc N` (or gpugrad launch / mpiexec with a matching N)"
        )
    import gpugrad.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("mpi")
    return dist, dist.get_rank()


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise RuntimeError("--plot needs matplotlib: pip install 'gpugrad[plot]' (or pip install matplotlib)") from exc
    return plt


def plot_history(history: dict, path: str) -> None:
    """Loss and accuracy curves to a PNG (matplotlib is optional: pip install gpugrad[plot])."""
    plt = _pyplot()
    epochs = range(1, len(history["loss"]) + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(epochs, history["loss"])
    ax1.set(xlabel="epoch", ylabel="training loss (cross-entropy)", title="loss")
    ax2.plot(epochs, history["train_accuracy"], label="train")
    ax2.plot(epochs, history["test_accuracy"], label="test")
    ax2.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    ax2.legend()
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
