"""Offline stand-in for tiktoken: nanoGPT's sample.py imports it at the top but uses it only for a
dataset without a meta.pkl (GPT-2's BPE, which needs a download)."""


def get_encoding(name: str):
    raise RuntimeError(f"tiktoken stand-in: the {name} encoding needs a download; give the dataset a meta.pkl")
