import gzip
import hashlib
import struct
from importlib import resources

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.data import MNIST, DataLoader, FashionMNIST, TensorDataset, load_digits, make_spirals, read_idx


# Digits ------------------------------------------------------------------------------------------
def test_bundled_digits_file_is_the_attributed_one():
    folder = resources.files("gpugrad.data")
    blob = folder.joinpath("digits.csv.gz").read_bytes()
    assert len(blob) < 100_000
    licence = folder.joinpath("DIGITS_LICENSE.txt").read_text()
    assert hashlib.sha256(blob).hexdigest() in licence  # the checksum the attribution names
    for needed in ("Alpaydin", "Kaynak", "CC BY 4.0", "UCI"):
        assert needed in licence


def test_digits_flat():
    ds = load_digits()
    assert isinstance(ds, TensorDataset) and len(ds) == 1797
    X, y = ds.tensors
    assert X.shape == (1797, 64) and X.dtype == gg.float32
    assert y.shape == (1797,) and y.dtype == gg.int64
    x = X.numpy()
    assert x.min() == 0.0 and x.max() == 1.0
    np.testing.assert_array_equal(np.round(x * 16), x * 16)  # 0..16 scaled exactly by 1/16
    counts = np.bincount(y.numpy(), minlength=10)
    assert counts.tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_digits_images_match_flat_and_calls_do_not_share_memory():
    flat = load_digits().tensors[0]
    images, labels = load_digits(images=True).tensors
    assert images.shape == (1797, 1, 8, 8)
    np.testing.assert_array_equal(images.numpy().reshape(1797, 64), flat.numpy())
    images._array[0] = 5.0
    labels._array[0] = 7
    again_x, again_y = load_digits(images=True).tensors
    assert again_x.numpy()[0].max() <= 1.0 and again_y.numpy()[0] == 0


def test_digits_first_image_is_a_zero():
    # The first row of the UCI test file is a 0; its outline is dark in the middle column of row 3.
    x, y = load_digits(images=True)[0]
    assert y.item() == 0
    img = x.numpy()[0]
    assert img[3, 3:5].max() < img[3].max()


# Spirals -----------------------------------------------------------------------------------------
def test_spirals_shapes_balance_and_range():
    X, y = make_spirals(301, noise=0.0, generator=0).tensors
    assert X.shape == (301, 2) and X.dtype == gg.float32 and y.dtype == gg.int64
    assert np.bincount(y.numpy()).tolist() == [151, 150]
    r = np.linalg.norm(X.numpy(), axis=1)
    assert r.max() <= 1.0 + 1e-6
    # Without noise the two classes are the same curve turned by pi: class 1 points negated lie on class 0.
    x = X.numpy().astype(np.float64)
    a, b = x[y.numpy() == 0], -x[y.numpy() == 1]
    angle_a = np.mod(np.arctan2(a[:, 1], a[:, 0]) - np.linalg.norm(a, axis=1) * 3 * np.pi, 2 * np.pi)
    angle_b = np.mod(np.arctan2(b[:, 1], b[:, 0]) - np.linalg.norm(b, axis=1) * 3 * np.pi, 2 * np.pi)
    np.testing.assert_allclose(np.minimum(angle_a, 2 * np.pi - angle_a), 0, atol=1e-4)
    np.testing.assert_allclose(np.minimum(angle_b, 2 * np.pi - angle_b), 0, atol=1e-4)


def test_spirals_reproducible():
    a = make_spirals(100, noise=0.1, generator=3).tensors
    b = make_spirals(100, noise=0.1, generator=gg.Generator(seed=3)).tensors
    c = make_spirals(100, noise=0.1, generator=4).tensors
    np.testing.assert_array_equal(a[0].numpy(), b[0].numpy())
    np.testing.assert_array_equal(a[1].numpy(), b[1].numpy())
    assert not np.array_equal(a[0].numpy(), c[0].numpy())
    gg.manual_seed(8)
    d = make_spirals(50).tensors[0].numpy()
    gg.manual_seed(8)
    np.testing.assert_array_equal(make_spirals(50).tensors[0].numpy(), d)


def test_spirals_bad_arguments():
    with pytest.raises(ValueError, match="n_samples"):
        make_spirals(1)
    with pytest.raises(ValueError, match="noise"):
        make_spirals(10, noise=-0.1)
    with pytest.raises(TypeError, match="generator"):
        make_spirals(10, generator="seed")


# IDX ---------------------------------------------------------------------------------------------
def _idx_bytes(array, code):
    header = struct.pack(">BBBB", 0, 0, code, array.ndim) + struct.pack(f">{array.ndim}i", *array.shape)
    big = array.astype(array.dtype.newbyteorder(">"))
    return header + big.tobytes()


def _write(path, blob, compress):
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(blob))
    else:
        path.write_bytes(blob)
    return path


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("dtype,code", [(np.uint8, 0x08), (np.int8, 0x09), (np.int16, 0x0B), (np.int32, 0x0C),
                                        (np.float32, 0x0D), (np.float64, 0x0E)])
def test_read_idx_roundtrip(tmp_path, compress, dtype, code):
    rng = np.random.default_rng(code)
    array = (rng.standard_normal((3, 4, 5)) * 50).astype(dtype)
    path = _write(tmp_path / "a-idx3", _idx_bytes(array, code), compress)
    got = read_idx(path)
    assert got.dtype == np.dtype(dtype) and got.dtype.isnative and got.shape == (3, 4, 5)
    np.testing.assert_array_equal(got, array)
    got[0, 0, 0] = 1  # writable, not a view of the file's bytes


@pytest.mark.parametrize("blob,match", [
    (b"\x00\x00\x08", "too short"),
    (b"\x01\x00\x08\x01" + struct.pack(">i", 1) + b"\x00", "not an IDX file"),
    (b"\x00\x00\x07\x01" + struct.pack(">i", 1) + b"\x00", "unknown IDX type code 0x07"),
    (b"\x00\x00\x08\x00", "0 dims"),
    (b"\x00\x00\x08\x03" + struct.pack(">i", 2), "ends inside its header"),
    (b"\x00\x00\x08\x01" + struct.pack(">i", 4) + b"\x00\x00\x00", r"holds 3 bytes .* dims \(4,\) .* \(4 bytes\)"),
    (b"\x00\x00\x0c\x01" + struct.pack(">i", 2) + b"\x00" * 9, r"holds 9 bytes .* \(8 bytes\)"),
    (b"\x00\x00\x08\x01" + struct.pack(">i", -1), "negative dims"),
    (b"\x1f\x8bnot really gzip", "cannot be decompressed"),
])
def test_read_idx_corrupt(tmp_path, blob, match):
    path = tmp_path / "bad-idx"
    path.write_bytes(blob)
    with pytest.raises(ValueError, match=match) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def _write_mnist(folder, train, n, compress, rng, rows=28, cols=28, labels=None):
    prefix = "train" if train else "t10k"
    images = rng.integers(0, 256, size=(n, rows, cols), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8) if labels is None else labels
    folder.mkdir(parents=True, exist_ok=True)
    _write(folder / f"{prefix}-images-idx3-ubyte", _idx_bytes(images, 0x08), compress)
    _write(folder / f"{prefix}-labels-idx1-ubyte", _idx_bytes(labels, 0x08), compress)
    return images, labels


@pytest.mark.parametrize("cls", [MNIST, FashionMNIST])
@pytest.mark.parametrize("compress", [False, True])
def test_mnist_reads_idx_files(tmp_path, cls, compress):
    rng = np.random.default_rng(0)
    images, labels = _write_mnist(tmp_path, True, 7, compress, rng)
    test_images, _ = _write_mnist(tmp_path, False, 3, not compress, rng)
    ds = cls(tmp_path, train=True)
    assert len(ds) == 7 and len(cls(tmp_path, train=False)) == 3
    x, y = ds[4]
    assert x.shape == (1, 28, 28) and x.dtype == gg.float32 and y.dtype == gg.int64 and y.shape == ()
    np.testing.assert_allclose(x.numpy()[0], images[4] / 255.0, rtol=1e-6)
    assert y.item() == labels[4]
    xb, yb = next(iter(DataLoader(ds, batch_size=5)))
    assert xb.shape == (5, 1, 28, 28)
    np.testing.assert_allclose(xb.numpy()[:, 0], images[:5] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(yb.numpy(), labels[:5])
    flat_x, _ = cls(tmp_path, train=False, flatten=True)[2]
    assert flat_x.shape == (784,)
    np.testing.assert_allclose(flat_x.numpy(), test_images[2].reshape(-1) / 255.0, rtol=1e-6)
    assert len(cls.classes) == 10


def test_mnist_torchvision_layout(tmp_path):
    rng = np.random.default_rng(1)
    _write_mnist(tmp_path / "FashionMNIST" / "raw", False, 4, True, rng)
    assert len(FashionMNIST(tmp_path, train=False)) == 4


def test_mnist_missing_files_named(tmp_path):
    rng = np.random.default_rng(2)
    _write_mnist(tmp_path, False, 2, False, rng)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError) as info:
        MNIST(tmp_path, train=False)
    msg = str(info.value)
    assert "t10k-labels-idx1-ubyte" in msg and "t10k-images" not in msg
    assert str(tmp_path) in msg and "download" in msg
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte.*train-labels-idx1-ubyte"):
        MNIST(tmp_path / "nowhere", train=True)


def test_mnist_inconsistent_files(tmp_path):
    rng = np.random.default_rng(3)
    _write_mnist(tmp_path, True, 5, False, rng, labels=np.zeros(4, dtype=np.uint8))
    with pytest.raises(ValueError, match="holds 5 images but .* holds 4 labels"):
        MNIST(tmp_path)
    _write_mnist(tmp_path, True, 3, False, rng, labels=np.array([1, 2, 10], dtype=np.uint8))
    with pytest.raises(ValueError, match="label 10"):
        MNIST(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx_bytes(np.zeros((3, 1), dtype=np.uint8), 0x08))
    with pytest.raises(ValueError, match="labels of 1 dim"):
        MNIST(tmp_path)


def test_mnist_index_errors(tmp_path):
    _write_mnist(tmp_path, True, 2, False, np.random.default_rng(4))
    ds = MNIST(tmp_path)
    assert ds[-1][1].item() == ds.targets.numpy()[1]
    with pytest.raises(IndexError, match="out of range for 2"):
        ds[2]
