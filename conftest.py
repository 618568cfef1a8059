"""Root conftest: every pytest run (tests/ and the notebooks under nbval) is strict.

Notebooks call :func:`helpers.expect.expect` for timing and size expectations: a learner
gets a warning, the test suite a failure. Kernels inherit this environment variable.
"""

import os

os.environ.setdefault("SHIPSHAPE_STRICT", "1")
