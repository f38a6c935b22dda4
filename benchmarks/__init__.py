"""Throughput benchmarks for miniaws against a bare-aiohttp ceiling and other emulators.

Run ``python -m benchmarks --help``; see ``benchmarks/README.md``.
"""
