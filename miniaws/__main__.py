"""`python -m miniaws`."""
from __future__ import annotations

import sys

from miniaws.cli import main

if __name__ == "__main__":
    sys.exit(main())
