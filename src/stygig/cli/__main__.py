"""``python -m stygig.cli``: the same as the ``stygig`` console script."""

import sys

from stygig.cli import main

sys.exit(main())
