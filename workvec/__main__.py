"""`python -m workvec`: the same as the `workvec` command."""

import sys

from workvec.cli import main

sys.exit(main())
