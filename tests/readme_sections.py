"""Reading the README's sections and code blocks, for the tests that run them."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def section(heading: str) -> str:
    """The text under a heading (e.g. "## Deployment" or "### `tokens`"),
    up to the next heading of the same or a higher level. Lines inside
    code blocks (shell comments start with `#` too) are never headings."""
    level = len(heading.split(" ", 1)[0])
    lines = README.read_text().splitlines(keepends=True)
    start = lines.index(f"{heading}\n")
    in_code = False
    for end in range(start + 1, len(lines)):
        line = lines[end]
        in_code ^= line.startswith("```")
        if not in_code and re.match(rf"#{{1,{level}}} ", line):
            return "".join(lines[start:end])
    return "".join(lines[start:])


def fenced_blocks(heading: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", section(heading), flags=re.DOTALL)
