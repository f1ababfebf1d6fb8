"""Small image datasets as tensors: an ImageFolder directory, or scikit-learn's digits.

``--data DIR`` is an ImageFolder layout: one sub-directory per class holding
images (png/jpg/jpeg/bmp/ppm/gif/webp). Without ``--data`` the ``train``
estimator uses the 8x8 handwritten digits that scikit-learn ships (1,797 images,
10 classes; nothing is downloaded), upscaled -- a demo dataset, not ImageNet.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from nas.errors import NasError

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".gif", ".webp")


@dataclass(frozen=True)
class Dataset:
    name: str
    images: torch.Tensor     # (N, 3, H, W) float, standardized
    labels: torch.Tensor     # (N,) int64
    classes: tuple[str, ...]


def check_image_folder(path: str | Path) -> dict[str, list[Path]]:
    """The images of each class; raises ``NasError`` for a missing or empty folder (before any work)."""
    root = Path(path)
    if not root.is_dir():
        raise NasError(f"--data {root}: no such directory (expected an ImageFolder: one sub-directory per "
                       f"class holding images)")
    found = {d.name: sorted(p for p in d.iterdir() if p.suffix.lower() in IMAGE_EXTS)
             for d in sorted(root.iterdir()) if d.is_dir()}
    found = {k: v for k, v in found.items() if v}
    if len(found) < 2:
        raise NasError(f"--data {root}: found {len(found)} class folder(s) with images; an ImageFolder needs at "
                       f"least two sub-directories of {'/'.join(e[1:] for e in IMAGE_EXTS)} images")
    return found


def _standardize(x: torch.Tensor) -> torch.Tensor:
    return (x - x.mean()) / (x.std() + 1e-6)


def _read_image(f: Path, size: int) -> np.ndarray:
    """One image as (size, size, 3) float32. A file that declares more pixels than PIL's
    decompression-bomb limit (``Image.MAX_IMAGE_PIXELS``, ~89 M) is refused from its header,
    before anything is decoded; so is a file that is not an image, empty or cut short."""
    import warnings

    from PIL import Image
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(f) as im:
                return np.asarray(im.convert("RGB").resize((size, size), Image.BILINEAR), dtype=np.float32)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as e:
        declared = str(e).split(",")[0].removeprefix("Image size ")
        raise NasError(f"--data: {f}: image size: {declared}; refused as a possible decompression bomb") from None
    except (OSError, ValueError, SyntaxError, EOFError) as e:      # what PIL's decoders raise on bad data
        raise NasError(f"--data: {f}: cannot read the image ({str(e)[:200] or type(e).__name__})") from None


def load_image_folder(path: str | Path, size: int) -> Dataset:
    """Every image resized to ``size``x``size`` RGB."""
    found = check_image_folder(path)
    images, labels = [], []
    for label, (cls, files) in enumerate(found.items()):
        for f in files:
            images.append(_read_image(f, size).transpose(2, 0, 1) / 255.0)
            labels.append(label)
    return Dataset(str(path), _standardize(torch.from_numpy(np.stack(images))), torch.tensor(labels),
                   tuple(found))


def load_digits(size: int) -> Dataset:
    """scikit-learn's 8x8 digits, upscaled to ``size`` and repeated over three channels."""
    try:
        from sklearn.datasets import load_digits as _digits
    except ImportError:
        raise NasError("the digits demo dataset needs scikit-learn (pip install scikit-learn), or pass "
                       "--data DIR with an ImageFolder") from None
    d = _digits()
    x = torch.from_numpy(d.images.astype(np.float32) / 16.0)[:, None]
    x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return Dataset("sklearn-digits", _standardize(x.repeat(1, 3, 1, 1)), torch.from_numpy(d.target.astype(np.int64)),
                   tuple(str(i) for i in range(10)))
