import sys

from valiqor_trace.cli import main

sys.exit(main())
