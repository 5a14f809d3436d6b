"""The README's op list says what is supported: every exported op is named there, and nothing more."""
import re
from pathlib import Path

import gpugrad as gg
from gpugrad import ops

README = Path(__file__).resolve().parents[1] / "README.md"


def _ops_section() -> str:
    text = README.read_text()
    return text[text.index("## Ops\n") : text.index("\n## ", text.index("## Ops\n") + 1)]


def test_every_exported_op_is_listed_in_the_readme():
    listed = set(re.findall(r"`(?:x\.)?(\w+)`", _ops_section()))
    exported = {f.__name__ for family in ops.FAMILIES for f in family.FUNCTIONS} - {"getitem", "sum_to_size"}
    exported |= {n for n in dir(gg.linalg) if not n.startswith("_") and n != "LinAlgError"}
    exported |= set(gg.fft.__all__)
    missing = sorted(exported - listed)
    assert not missing, f"exported but not in the README's op list: {missing}"


def test_every_op_the_readme_lists_exists():
    items = re.split(r"\n- ", _ops_section())[1:]
    for item in items:
        title, _, names = item.split("\n\n")[0].partition(":")
        namespace = gg.linalg if title.startswith("`gg.linalg`") else gg.fft if title.startswith("`gg.fft`") else gg
        for name in re.findall(r"`(\w+)`", names):
            found = hasattr(namespace, name) or hasattr(gg.Tensor, name)
            assert found, f"the README lists {name} under {title!r}, which does not exist"
