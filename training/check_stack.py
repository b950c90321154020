"""Exits 0 when every module the training tests import is importable; otherwise names the missing ones.

The one list of the Python stack the tests need: .ci/run decides whether to install it with this,
and tests/integration/training-smoke.test.ts whether to run pytest.
"""

import importlib.util
import sys

# Import name -> pip package, for the message.
MODULES = {"torch": "torch", "onnx": "onnx", "onnxruntime": "onnxruntime", "numpy": "numpy", "PIL": "pillow", "pytest": "pytest"}

missing = [pip for name, pip in MODULES.items() if importlib.util.find_spec(name) is None]
if missing:
    print(f"missing Python packages: {' '.join(missing)}")
    sys.exit(1)
