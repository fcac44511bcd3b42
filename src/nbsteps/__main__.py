"""`python -m nbsteps` is the `nbsteps` command."""

import sys

from nbsteps.cli import main

sys.exit(main())
