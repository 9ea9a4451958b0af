"""Shipped model weights (package data): ``estimator.pt`` + ``estimator.json`` (the live emotion estimator)."""
