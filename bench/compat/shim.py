"""Run a PyTorch script unchanged, with every `torch` / `torch.X` module name mapped to `gpugrad` / `gpugrad.X`.

usage: shim.py --fw gg|torch [--stub torch.onnx,...] [--npyload] SCRIPT [script args...]
Only imports change: a sys.meta_path finder aliases the module names; the script's text is untouched.
--stub   (second pass only, to see past a missing import): named torch.X modules become empty modules.
--npyload (time_sequence_prediction only, both frameworks): torch.load('traindata.pt') returns
          numpy.load('traindata.npy'), since gpugrad never unpickles and torch>=2.6 refuses numpy pickles.
"""
import os, runpy, sys, traceback

argv = sys.argv[1:]
fw, stubs, npyload = "torch", [], False
while argv and argv[0].startswith("--"):
    a = argv.pop(0)
    if a == "--fw": fw = argv.pop(0)
    elif a == "--stub": stubs = [s for s in argv.pop(0).split(",") if s]
    elif a == "--npyload": npyload = True
script = os.path.abspath(argv[0])
sys.argv = [script] + argv[1:]
sys.path.insert(0, os.path.dirname(script))


if fw == "gg":
    # alias.py holds the import hook; fake/sitecustomize.py installs it again in processes started with
    # multiprocessing's spawn method (a fresh interpreter), which these variables reach.
    os.environ["COMPAT_ALIAS_DIR"] = os.path.dirname(os.path.abspath(__file__))
    os.environ["COMPAT_STUBS"] = ",".join(stubs)
    sys.path.append(os.environ["COMPAT_ALIAS_DIR"])
    import alias
    alias.install(stubs)

if npyload:
    import numpy as np, torch as _t
    _t.load = lambda f, *a, **k: np.load(os.path.splitext(f if isinstance(f, str) else f.name)[0] + ".npy")

try:
    runpy.run_path(script, run_name="__main__")
except SystemExit as e:
    if e.code not in (0, None):
        print(f"COMPAT_EXIT {e.code}", flush=True); raise
except BaseException as e:
    tb = traceback.extract_tb(e.__traceback__)
    # the innermost frame in the work folder (the script or its siblings) says where the script stopped
    user = [f for f in tb if f.filename.startswith(os.path.dirname(script) + os.sep)]
    where = f"{os.path.basename(user[-1].filename)}:{user[-1].lineno}: {user[-1].line}" if user else "?"
    traceback.print_exc()
    msg = str(e).replace("\n", " ")[:300]
    print(f"COMPAT_FAIL {type(e).__name__}: {msg} @@ {where}", flush=True)
    sys.exit(1)
print("COMPAT_DONE", flush=True)
