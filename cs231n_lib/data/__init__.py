"""Real data and the preprocessing of the notes.

- :func:`load_digits`: scikit-learn's handwritten digits, (N, 1, 8, 8), split for training.
- :func:`load_photo`: scikit-image's sample photographs as (C, H, W).
- :func:`load_cifar10`: CIFAR-10 from the official python batches, when you have them.
- preprocessing on (N, C, H, W): :func:`center_crop_square`, :func:`resize`,
  :func:`mean_image`, :func:`std_image`, :func:`normalize`, :func:`grayscale`, and the
  seeded augmentations :func:`random_flip`, :func:`random_crop`, :func:`random_affine`,
  :func:`augment`.
"""
from .cifar10 import (CIFAR10_FILES, ENV_VAR, CIFAR10FormatError, CIFAR10NotFoundError,
                      find_cifar10, load_cifar10)
from .digits import load_digits, split_indices
from .photos import PHOTOS, load_photo
from .preprocess import (LUMA_WEIGHTS, affine, as_rng, augment, center_crop_square, grayscale,
                         mean_image, normalize, random_affine, random_crop, random_flip, resize,
                         std_image)

__all__ = [
    "load_digits", "split_indices", "load_photo", "PHOTOS", "load_cifar10", "find_cifar10",
    "CIFAR10_FILES", "ENV_VAR", "CIFAR10NotFoundError", "CIFAR10FormatError",
    "center_crop_square", "resize", "mean_image", "std_image", "normalize", "grayscale",
    "affine", "random_flip", "random_crop", "random_affine", "augment", "as_rng", "LUMA_WEIGHTS",
]
