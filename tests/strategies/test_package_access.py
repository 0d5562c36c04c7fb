"""``faultkit.strategies`` is reachable from ``import faultkit``, and only then imports
hypothesis: importing faultkit itself stays light."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
PROBE = """
import sys
import faultkit
light = "hypothesis" not in sys.modules and "faultkit.strategies" not in sys.modules
plans = faultkit.strategies.fault_plans
print(light, "hypothesis" in sys.modules, faultkit.strategies.__name__, callable(plans))
"""


def test_strategies_is_an_attribute_loaded_on_first_use() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "faultkit.strategies", "True"]
