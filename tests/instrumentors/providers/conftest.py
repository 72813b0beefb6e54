"""The provider examples' local fakes (examples/fake_providers.py) are importable by the tests."""

from __future__ import annotations

import sys

from tests.helpers import REPO_ROOT

EXAMPLES = REPO_ROOT / "examples"
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))
