"""The ``gpugrad`` command: ``gpugrad train`` (the main job), ``gpugrad launch`` (one process per rank, as
torchrun), ``gpugrad bench``, ``gpugrad info``."""
from __future__ import annotations

import argparse
import json
import os
import sys


def _train(args) -> int:
    from .train import TrainConfig, run

    if args.nproc > 1 and not os.environ.get("WORLD_SIZE"):
        # Start the ranks, each of which runs this same command (and finds WORLD_SIZE set).
        from .distributed.launch import launch

        return launch(args.nproc, ["gpugrad.cli", *args.argv], hosts=args.hosts, hostfile=args.hostfile, module=True)
    cfg = TrainConfig(
        model=args.model, dataset=args.dataset, data_dir=args.data_dir, optimizer=args.optimizer, lr=args.lr,
        epochs=args.epochs, batch_size=args.batch_size, device=args.device, seed=args.seed, save=args.save,
        resume=args.resume, plot=args.plot, progress=not args.quiet, nproc=args.nproc, cuda_graph=args.cuda_graph,
    )
    result = run(cfg)
    if result["rank"] != 0:
        return 0
    print(
        f"{cfg.model} on {cfg.dataset}: test accuracy {result['test_accuracy']:.4f} "
        f"in {result['seconds']:.1f} s on {result['device']}"
    )
    return 0


def _launch(args) -> int:
    from .distributed.launch import launch

    script = [args.script, *args.script_args]
    return launch(args.nproc, script, hosts=args.hosts, hostfile=args.hostfile, master_addr=args.master_addr,
                  master_port=args.master_port, module=args.module)


def _bench(args) -> int:
    from . import benchmarks

    return benchmarks.main(args)


def _info(args) -> int:
    from . import backend

    print(json.dumps(backend.info(), indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .train import DATASETS, MODELS, OPTIMIZERS

    parser = argparse.ArgumentParser(prog="gpugrad", description="gpugrad: autograd with fused kernels for CPU and NVIDIA GPUs")
    sub = parser.add_subparsers(dest="command")
    train = sub.add_parser("train", help="train a network on a bundled or local data set (the default command)")
    train.add_argument("--model", choices=MODELS, default="mlp")
    train.add_argument("--dataset", choices=DATASETS, default="digits")
    train.add_argument("--data-dir", help="directory with the MNIST / Fashion-MNIST IDX files")
    train.add_argument("--optimizer", choices=OPTIMIZERS, default="adam")
    train.add_argument("--lr", type=float, help="learning rate (default depends on the optimizer)")
    train.add_argument("--epochs", type=int, default=30)
    train.add_argument("--batch-size", type=int, default=32)
    train.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--save", metavar="FILE", help="write a checkpoint (safetensors) after every epoch")
    train.add_argument("--resume", metavar="FILE", help="continue from a checkpoint written by --save")
    train.add_argument("--plot", metavar="FILE.png", help="draw loss and accuracy curves (needs matplotlib)")
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.add_argument("--no-cuda-graph", dest="cuda_graph", action="store_false",
                       help="on a GPU, launch every op of each step from Python instead of replaying the step as "
                            "one CUDA graph (the default; a last short batch always runs op by op)")
    train.add_argument("--nproc", type=int, default=1, help="data-parallel ranks on this machine (through gpugrad launch)")
    train.add_argument("--hosts", help="with --nproc: comma-separated machines (host or host:slots)")
    train.add_argument("--hostfile", help="with --nproc: the MPI launcher's host file")
    train.set_defaults(func=_train)
    launch = sub.add_parser(
        "launch", help="run a script as N data-parallel ranks through the installed MPI launcher (as torchrun)"
    )
    launch.add_argument("--nproc", "--nproc-per-node", "--nproc_per_node", dest="nproc", type=int, default=1,
                        help="number of ranks (processes)")
    launch.add_argument("--hosts", help="comma-separated machines, host or host:slots (default: this one)")
    launch.add_argument("--hostfile", help="a host file in the MPI launcher's format")
    launch.add_argument("--master-addr", help="address for NCCL's rendezvous store (default: the first host)")
    launch.add_argument("--master-port", type=int, help="port for NCCL's rendezvous store (default: a free one)")
    launch.add_argument("-m", "--module", action="store_true", help="run a module (python -m) instead of a script")
    launch.add_argument("script", help="the script (or module, with -m) every rank runs")
    launch.add_argument("script_args", nargs=argparse.REMAINDER, help="its arguments")
    launch.set_defaults(func=_launch)
    info = sub.add_parser("info", help="versions, devices and CUDA availability")
    info.set_defaults(func=_info)
    from . import benchmarks

    bench = sub.add_parser("bench", help="run the benchmark suite: one table of medians, ratios and roofline fractions")
    benchmarks.add_arguments(bench)
    bench.set_defaults(func=_bench)
    return parser


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv = ["train"] + argv
    args = build_parser().parse_args(argv)
    args.argv = argv
    try:
        return args.func(args)
    except (ValueError, RuntimeError, FileNotFoundError) as exc:
        print(f"gpugrad {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
