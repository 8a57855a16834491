"""Trend models, baselines, training and honest evaluation (tensors and arrays only)."""
