"""Model export and verification (Qt-free)."""
