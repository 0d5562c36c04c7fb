"""``python -m faultkit.doors.proxy ...`` is ``faultkit proxy ...``."""

import sys

from .command import main

sys.exit(main())
