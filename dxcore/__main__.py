import sys

from dxcore.cli import main

if __name__ == "__main__":  # also imported, not run, when pytest collects the doctests
    sys.exit(main())
