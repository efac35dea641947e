"""Print the tests the last pytest run failed, one per line, so that a red CI's output ends with
their names.  Reads pytest's own record (``.pytest_cache/v/cache/lastfailed``): after a run of
the whole suite it holds exactly that run's failures and errors.

    python3 .ci/failed_tests.py [CACHE_DIR]      # default: .pytest_cache
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def failed_tests(cache_dir: Path) -> list[str]:
    path = cache_dir / "v" / "cache" / "lastfailed"
    try:
        return sorted(json.loads(path.read_text()))
    except (OSError, ValueError):
        return []


def main(argv: list[str]) -> int:
    names = failed_tests(Path(argv[0] if argv else ".pytest_cache"))
    if names:
        print(f"\nfailing tests ({len(names)}):")
        print("\n".join(f"FAILED {name}" for name in names))
    else:
        print("\nno failing test recorded (the failure came before or outside pytest; see above)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
