"""``torch.distributed._composable``: the older path of FSDP2 (``_composable.fsdp``), kept by PyTorch for code
that imports from it."""
