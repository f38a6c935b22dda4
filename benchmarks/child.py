"""Load clients as child processes: the parent pickles a spec and runs ``python -m <module> SPEC``; the child,
pinned to its core, runs the measurement on uvloop and prints one JSON line, which the parent reads back.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import subprocess
import sys
from collections.abc import Callable, Coroutine
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmarks import procs

_ROOT = Path(__file__).resolve().parents[1]


def run(module: str, spec: object, spec_path: Path, timeout: float, error: type[Exception],
        what: str = "load client") -> dict[str, Any]:
    """Parent side: run `module` on `spec` and return the JSON object it printed last; raise `error` on trouble."""
    spec_path.write_bytes(pickle.dumps(spec, protocol=pickle.HIGHEST_PROTOCOL))
    proc = procs.spawn([sys.executable, "-m", module, str(spec_path)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, cwd=str(_ROOT))
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise error(f"{what} did not finish in time") from None
    finally:
        procs.stop(proc)
        spec_path.unlink(missing_ok=True)
    if proc.returncode != 0 or not out.strip():
        tail = err.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise error(f"{what} exited with {proc.returncode}: {tail[0]}")
    result: dict[str, Any] = json.loads(out.splitlines()[-1])
    return result


def main(module: str, measure: Callable[[Any], Coroutine[Any, Any, Any]], argv: list[str] | None = None) -> None:
    """Child side: load the spec named on the command line, pin to its core, print `measure(spec)` as JSON."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.exit(f"usage: python -m {module} SPEC.pickle")
    spec = pickle.loads(Path(args[0]).read_bytes())
    procs.pin_self(spec.cpu)
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(measure(spec))
    else:
        result = uvloop.run(measure(spec))
    print(json.dumps(asdict(result)), flush=True)
