"""Real photographs for the convolution demos: scikit-image's sample images, which ship inside
the scikit-image package (no download)."""
from __future__ import annotations

from typing import Any

from ..backend import np
from .preprocess import center_crop_square, grayscale as to_grayscale, resize

__all__ = ["PHOTOS", "load_photo"]

#: name -> what it shows; every one ships with scikit-image
PHOTOS = {
    "astronaut": "astronaut Eileen Collins (colour, 512x512)",
    "chelsea": "Chelsea the cat (colour, 300x451)",
    "coffee": "a cup of coffee (colour, 400x600)",
    "rocket": "a rocket on the launch pad (colour, 427x640)",
    "camera": "a cameraman (grey, 512x512)",
    "coins": "Greek coins (grey, 303x384)",
    "moon": "the surface of the moon (grey, 512x512)",
    "brick": "a brick wall texture (grey, 512x512)",
    "grass": "a grass texture (grey, 512x512)",
    "gravel": "a gravel texture (grey, 512x512)",
    "checkerboard": "a checkerboard (grey, 200x200)",
}


def load_photo(name: str = "chelsea", size: int | None = None, grayscale: bool = False,
               dtype: Any = "float32") -> Any:
    """One photograph as a ``(C, H, W)`` float array with values in [0, 1].

    Inputs:
    - name: one of :data:`PHOTOS`.
    - size: if given, the largest centred square is cut out and resized to ``size x size``.
    - grayscale: collapse colour to one channel of brightness.
    - dtype: float32 (default) or float64.

    Colour photos have C = 3 (red, green, blue), grey ones C = 1.
    """
    if name not in PHOTOS:
        raise ValueError(f"unknown photo {name!r}; choose one of {', '.join(PHOTOS)}")
    if np.dtype(dtype).kind != "f":
        raise TypeError(f"dtype must be a float type (float32 or float64), got {dtype!r}")
    import skimage.data  # imported only when a photo is asked for

    pixels = getattr(skimage.data, name)()
    image = pixels.astype(dtype) / (255.0 if pixels.dtype == np.uint8 else 1.0)
    image = image[None] if image.ndim == 2 else np.moveaxis(image, -1, 0)  # (H,W,C) -> (C,H,W)
    image = np.ascontiguousarray(image[:3])
    if grayscale:
        image = to_grayscale(image)
    if size is not None:
        image = resize(center_crop_square(image), size)
    return image
