"""The Trainer and everything around a run (Qt-free)."""
