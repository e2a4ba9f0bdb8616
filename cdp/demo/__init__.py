"""Realistic demo extracts of a car dealership group, with ground truth (see `generate`)."""

from cdp.demo.generator import generate

__all__ = ["generate"]
