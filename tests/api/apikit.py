"""Helpers for the API, export and sweep tests."""

from __future__ import annotations


def tiny_phase(**over) -> dict:
    """A few optimiser steps on a few examples, frozen word embeddings."""
    return {
        "learning_rate": 1e-3, "max_steps": 3, "batch_size": 4, "max_length": 32,
        "max_examples": 16, "warmup": 0.0, "freeze_embeddings": True, "select_best": False,
        **over,
    }  # fmt: skip
