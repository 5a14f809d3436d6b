"""Processes started by multiprocessing's spawn method run a fresh interpreter: in a gpugrad run, this
gives them the shim's torch -> gpugrad import alias too (shim.py sets COMPAT_ALIAS_DIR)."""
import os
import sys

if os.environ.get("COMPAT_ALIAS_DIR"):
    sys.path.append(os.environ["COMPAT_ALIAS_DIR"])
    import alias

    alias.install([s for s in os.environ.get("COMPAT_STUBS", "").split(",") if s])
