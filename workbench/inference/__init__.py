"""Using a trained model: generation from token models (Qt-free, like core/training/export)."""
