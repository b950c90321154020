import sys
from pathlib import Path

# Tests import the package from this folder without installing it.
sys.path.insert(0, str(Path(__file__).resolve().parent))
