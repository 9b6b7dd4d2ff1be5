"""The Python snippets of bindings-python/README.md run as written."""

from __future__ import annotations

import re

import pytest
from conftest import REPO

import ssecast

README = (REPO / "bindings-python" / "README.md").read_text(encoding="utf-8")


def snippets() -> list[str]:
    blocks = re.findall(r"^( *)```python\n(.*?)^\1```", README, re.MULTILINE | re.DOTALL)
    return ["\n".join(line[len(indent) :] for line in body.splitlines()) for indent, body in blocks]


def test_readme_has_snippets() -> None:
    assert len(snippets()) >= 4


@pytest.mark.parametrize("code", snippets(), ids=lambda code: code.splitlines()[0])
def test_readme_snippet_runs(code: str) -> None:
    exec(compile(code, "README.md", "exec"), {"__name__": "readme"})  # noqa: S102 (our README)


def test_readme_documents_every_configuration_key() -> None:
    assert "port" in ssecast.CONFIG_KEYS
    missing = [key for key in ssecast.CONFIG_KEYS if f"`{key}`" not in README]
    assert missing == []
