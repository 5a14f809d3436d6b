"""Where each run's scripts come from: public repositories, pinned commits, files to copy.

The scripts themselves are not in this repository (they belong to their projects); the harness copies
them from checkouts the user provides.  `--sources DIR` must hold these clones, checked out at the commit:
"""

# checkout folder name under --sources -> (public repository, commit)
REPOS = {
    "pytorch-examples": ("https://github.com/pytorch/examples", "77f55b9"),
    "pytorch-tutorials": ("https://github.com/pytorch/tutorials", "02ed6c5c"),
    "PyTorch-GAN": ("https://github.com/eriklindernoren/PyTorch-GAN", "36d3c77"),
    "nanoGPT": ("https://github.com/karpathy/nanoGPT", "3adf61e"),
    "pytorch-cifar": ("https://github.com/kuangliu/pytorch-cifar", "49b7aa9"),
}

# work subfolder -> (checkout folder, folder or file in that checkout whose contents are copied there).
# A folder is copied whole (the scripts import their sibling modules); a file is copied alone.
SOURCES = {
    "mnist": ("pytorch-examples", "mnist"),
    "vae": ("pytorch-examples", "vae"),
    "regression": ("pytorch-examples", "regression"),
    "word_language_model": ("pytorch-examples", "word_language_model"),
    "time_sequence_prediction": ("pytorch-examples", "time_sequence_prediction"),
    "dcgan": ("pytorch-examples", "dcgan"),
    "mnist_rnn": ("pytorch-examples", "mnist_rnn"),
    "siamese_network": ("pytorch-examples", "siamese_network"),
    "super_resolution": ("pytorch-examples", "super_resolution"),
    # transformer_net.py and utils.py; the driver (ours, bench/compat/fns_driver.py) is added by the harness
    "fast_neural_style": ("pytorch-examples", "fast_neural_style/neural_style"),
    "mnist_forward_forward": ("pytorch-examples", "mnist_forward_forward"),
    "gcn": ("pytorch-examples", "gcn"),
    "gat": ("pytorch-examples", "gat"),
    "mnist_hogwild": ("pytorch-examples", "mnist_hogwild"),
    "custom_function": ("pytorch-tutorials", "beginner_source/examples_autograd/polynomial_custom_function.py"),
    "wgan_gp": ("PyTorch-GAN", "implementations/wgan_gp/wgan_gp.py"),
    # PyTorch-GAN's models trained on MNIST (each folder holds one script)
    **{f"pgan_{name}": ("PyTorch-GAN", f"implementations/{name}") for name in (
        "aae", "acgan", "cgan", "dcgan", "ebgan", "gan", "infogan", "lsgan", "relativistic_gan", "sgan", "wgan",
        "wgan_div")},
    "reinforcement_learning": ("pytorch-examples", "reinforcement_learning"),
    "nanogpt": ("nanoGPT", "."),
    "imagenet": ("pytorch-examples", "imagenet"),
    # models/ of pytorch-cifar; the driver (ours, bench/compat/cifar_models_driver.py) is added by the harness
    "cifar_models": ("pytorch-cifar", "."),
}
