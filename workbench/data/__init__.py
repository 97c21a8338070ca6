"""Dataset sources, splits and augmentation (Qt-free)."""
