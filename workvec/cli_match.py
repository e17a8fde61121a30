"""CLI sub-commands for matching (normalize, extract) and the demo."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the matching sub-commands."""
