"""Synthetic stand-ins for the files the scripts read (no downloads are possible or wanted).

`write_data(base)` fills one framework's work folder (base/<example>/...) after the scripts were copied
there.  It needs real torch: time_sequence_prediction reads a torch.save pickle.
"""
import os
import tarfile

import numpy as np


def corpus(n_tokens: int, seed: int) -> str:
    """A wikitext-like text over 60 words where each word has 3 likely successors (so it is learnable)."""
    rng = np.random.RandomState(seed)
    vocab = [f"w{i}" for i in range(60)]
    trans = np.random.RandomState(7).randint(0, 60, (60, 3))
    out, w, line = [], 0, []
    for _ in range(n_tokens):
        w = trans[w, rng.randint(3)] if rng.rand() < 0.9 else rng.randint(60)
        line.append(vocab[w])
        if len(line) >= 12 or rng.rand() < 0.08:
            out.append(" " + " ".join(line) + " ")
            line = []
    return "\n".join(out) + "\n"


def write_wikitext(base: str) -> None:
    d = f"{base}/word_language_model/data/wikitext-2"
    os.makedirs(d, exist_ok=True)
    for split, n, s in (("train", 6000, 0), ("valid", 800, 1), ("test", 800, 2)):
        with open(f"{d}/{split}.txt", "w") as f:
            f.write(corpus(n, s))


def write_sine(base: str) -> None:
    """generate_sine_wave.py's recipe, smaller (N=10, L=200 instead of 100, 1000); .pt and .npy copies."""
    np.random.seed(2)
    T, L, N = 20, 200, 10
    x = np.empty((N, L), "int64")
    x[:] = np.array(range(L)) + np.random.randint(-4 * T, 4 * T, N).reshape(N, 1)
    data = np.sin(x / 1.0 / T).astype("float64")
    tsp = f"{base}/time_sequence_prediction"
    np.save(f"{tsp}/traindata.npy", data)
    import torch  # real torch: the pickle exactly as generate_sine_wave.py writes it
    with open(f"{tsp}/traindata.pt", "wb") as f:
        torch.save(data, f)


def write_bsds(base: str) -> None:
    """super_resolution: BSDS300/images/{train,test}/*.jpg holding .npy bytes of smooth RGB images
    (the fake PIL reads them back)."""
    rng = np.random.RandomState(0)
    for split, n in (("train", 8), ("test", 4)):
        d = f"{base}/super_resolution/dataset/BSDS300/images/{split}"
        os.makedirs(d, exist_ok=True)
        for i in range(n):
            low = rng.rand(9, 9, 3)
            img = np.kron(low, np.ones((32, 32, 1)))[:260, :260] * 255
            img = (img + rng.rand(260, 260, 3) * 20).clip(0, 255).astype(np.uint8)
            with open(f"{d}/{i}.jpg", "wb") as f:
                np.save(f, img)


def write_cora(base: str) -> None:
    """gcn/gat: a Cora-format stand-in (1800 nodes, 7 classes, 100 binary features, ~2.5 edges per node,
    mostly within a class); gcn downloads cora.tgz, which the fake requests serves from the work folder."""
    rng = np.random.RandomState(3)
    V, F, C = 1800, 100, 7
    lab = rng.randint(0, C, V)
    pid = rng.choice(np.arange(10000, 99999), V, replace=False)
    prob = np.random.RandomState(4).rand(C, F) * 0.15
    feats = (rng.rand(V, F) < prob[lab]).astype(int)
    for g in ("gcn", "gat"):
        if not os.path.isdir(f"{base}/{g}"):
            continue
        d = f"{base}/{g}/cora"
        os.makedirs(d, exist_ok=True)
        with open(f"{d}/cora.content", "w") as f:
            for i in range(V):
                f.write(f"{pid[i]}\t" + "\t".join(map(str, feats[i])) + f"\tclass_{lab[i]}\n")
        with open(f"{d}/cora.cites", "w") as f:
            rs = np.random.RandomState(5)
            for i in range(V):
                for _ in range(rs.randint(1, 5)):
                    j = rs.choice(np.where(lab == lab[i])[0]) if rs.rand() < 0.8 else rs.randint(V)
                    f.write(f"{pid[j]}\t{pid[i]}\n")
    if os.path.isdir(f"{base}/gcn"):
        with tarfile.open(f"{base}/gcn/cora.tgz", "w:gz") as t:
            t.add(f"{base}/gcn/cora", arcname="cora")


def write_nanogpt(base: str) -> None:
    """nanoGPT's train.py --dataset=synth: the corpus above at character level, as its prepare.py writes
    shakespeare_char (uint16 token files and a meta.pkl with the vocabulary)."""
    import pickle

    text = corpus(8000, 0)
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    d = f"{base}/nanogpt/data/synth"
    os.makedirs(d, exist_ok=True)
    ids = np.array([stoi[c] for c in text], dtype=np.uint16)
    cut = int(0.9 * len(ids))
    ids[:cut].tofile(f"{d}/train.bin")
    ids[cut:].tofile(f"{d}/val.bin")
    with open(f"{d}/meta.pkl", "wb") as f:
        pickle.dump({"vocab_size": len(chars), "stoi": stoi, "itos": dict(enumerate(chars))}, f)


def write_data(base: str) -> None:
    """All stand-in data for the examples present under base (missing examples are skipped)."""
    for example, writer in (("word_language_model", write_wikitext), ("time_sequence_prediction", write_sine),
                            ("super_resolution", write_bsds), ("nanogpt", write_nanogpt)):
        if os.path.isdir(f"{base}/{example}"):
            writer(base)
    write_cora(base)  # writes for whichever of gcn / gat is present
    if os.path.isdir(f"{base}/wgan_gp"):
        os.makedirs(f"{base}/wgan_gp/images", exist_ok=True)
