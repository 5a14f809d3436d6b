"""``torch.testing._internal``: the parts of PyTorch's own test helpers that libraries' test suites import
(``common_utils.TestCase``)."""
