"""Launch the Model Workbench GUI: `python main.py [PROJECT.wbproj]`."""

import sys

from workbench.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
