import sys

from .plugin import main

sys.exit(main())
