"""`python -m cli`: the `gc-tfx` command, as the console script runs it."""
import sys

from cli.main import main

if __name__ == "__main__":  # not when a `spawn` worker re-imports the main module
    sys.exit(main())
