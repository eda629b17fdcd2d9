"""Where the shared test corpus lives, and the rule for when it is missing: skip locally, fail in CI."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"
MISSING = "corpus-missing"


def require() -> Path:
    """The corpus folder; skips the test when it is absent, but fails loudly under CI=true."""
    if CORPUS.is_dir():
        return CORPUS
    if os.environ.get("CI") == "true":
        pytest.fail(f"the shared mail corpus is missing at {CORPUS.resolve()}; CI must run these tests")
    pytest.skip(f"the shared mail corpus is not at {CORPUS.resolve()}")


def files(*patterns: str) -> list[str]:
    """Corpus-relative paths for parametrizing; one placeholder when the corpus is absent (it then skips)."""
    if not CORPUS.is_dir():
        return [MISSING]
    found = sorted({str(p.relative_to(CORPUS)) for pattern in patterns for p in CORPUS.glob(pattern)})
    return [f for f in found if (CORPUS / f).is_file()]


def read(relative: str) -> bytes:
    return (require() / relative).read_bytes()


def expected(source: str) -> dict[str, Any]:
    """A source's expected.json (written from the upstream tests; see MANIFEST.md)."""
    if not CORPUS.is_dir():
        return {"fixtures": {}}
    return json.loads((CORPUS / source / "expected.json").read_text(encoding="utf-8"))


class _RubyYaml(yaml.SafeLoader):
    """Zammad's .yml files carry Ruby tags; MANIFEST.md gives this loader."""


_RubyYaml.add_multi_constructor(
    "!ruby/hash", lambda loader, _s, node: loader.construct_mapping(node, deep=True)
)
_RubyYaml.add_constructor(
    "!binary",
    lambda loader, node: base64.b64decode(str(loader.construct_scalar(node))),  # type: ignore[arg-type]
)


def zammad_yaml(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_RubyYaml)  # a SafeLoader subclass
