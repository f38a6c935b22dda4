"""Runtimes miniaws ships for managed runtime names: the Python bootstrap each python3.x worker runs.

The files here run inside worker processes, on whatever interpreter the runtime maps to: standard library only,
and they never import miniaws.
"""
from __future__ import annotations

from pathlib import Path

PYTHON_BOOTSTRAP = str(Path(__file__).with_name("python_runtime.py"))
