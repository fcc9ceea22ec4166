"""Where the repository's files are, for tests wherever they sit in the tree."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = REPO / "templates"
FIXTURES = REPO / "tests" / "fixtures"
PAYLOADS = FIXTURES / "payloads"
TOOLS = FIXTURES / "tools"
