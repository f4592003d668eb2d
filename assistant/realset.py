"""The real-question evaluation set: questions citizens asked in public, split once by source.

The held-out part (``test``) is only ever scored. Nothing that trains or tunes the assistant may
contain one of its questions; :func:`find_test_leaks` is the check the tests and the trainer run.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from protocol.catalog import assets_dir
from protocol.knowledge import RealQuestion

Split = Literal["train", "dev", "test"]
SPLITS: tuple[Split, ...] = ("train", "dev", "test")

# Sources an outside evaluation uses: no question may come from them (issue 13).
RESERVED_DOMAINS: tuple[str, ...] = (
    "polres.karanganyarkab.go.id",
    "kecblimbing.malangkota.go.id",
    "dpmptsp.pekalongankota.go.id",
    "disdukcapil.dairikab.go.id",
    "disdukcapil.karimunkab.go.id",
    "disdukcapil.pariamankota.go.id",
    "dukcapil.ngawikab.go.id",
    "dukcapil.sulselprov.go.id",
    "duniateknoku.com",
    "autonewspapers.com",
    "darustation.com",
    "kompas.com",
)
RESERVED_REPOS: tuple[str, ...] = ("rfalam2211/bpjschabo", "galuhalifani/indonesia_immigration_bot")

# Second-level labels under which the registrable domain has three labels (x.go.id, x.co.uk).
_SECOND_LEVEL = frozenset(
    {
        "go.id",
        "co.id",
        "ac.id",
        "or.id",
        "web.id",
        "my.id",
        "sch.id",
        "desa.id",
        "net.id",
        "biz.id",
        "mil.id",
        "ponpes.id",
        "co.uk",
        "org.uk",
        "com.au",
        "net.au",
        "gov.au",
        "co.nz",
        "com.sg",
        "gov.sg",
        "com.my",
        "gov.my",
    }
)
# The split rule, fixed when test.jsonl was first integrated: never change it.
SPLIT_SALT = "mpp-real-v1"
TEST_BELOW = 102  # first hash byte < 102 -> test (40 %)
DEV_BELOW = 128  # 102..127 -> dev (10 %); the rest -> train


def real_dir(root: Path | None = None) -> Path:
    return (root or assets_dir()) / "assistant" / "real"


def registrable_domain(url: str) -> str:
    """``pontianak.tribunnews.com`` -> ``tribunnews.com``; ``x.grobogan.go.id`` -> ``grobogan.go.id``."""
    host = (urlsplit(url).hostname or "").lower().removeprefix("www.")
    labels = host.split(".")
    if len(labels) >= 3 and ".".join(labels[-2:]) in _SECOND_LEVEL:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def source_key(url: str) -> str:
    """The unit the split keeps together: a site, or one repository for GitHub sources."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().removeprefix("www.")
    if host in ("github.com", "raw.githubusercontent.com"):
        owner_repo = "/".join(parts.path.strip("/").split("/")[:2]).lower()
        return f"github.com/{owner_repo}"
    return registrable_domain(url)


def split_for_source(url: str) -> Split:
    """Deterministic part of a source: the first byte of sha256(salt:source_key)."""
    b = hashlib.sha256(f"{SPLIT_SALT}:{source_key(url)}".encode()).digest()[0]
    if b < TEST_BELOW:
        return "test"
    return "dev" if b < DEV_BELOW else "train"


def is_reserved(url: str) -> bool:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().removeprefix("www.")
    if any(host == d or host.endswith("." + d) for d in RESERVED_DOMAINS):
        return True
    path = parts.path.strip("/").lower()
    return host in ("github.com", "raw.githubusercontent.com") and any(
        path == r or path.startswith(r + "/") for r in RESERVED_REPOS
    )


def load_real(split: Split, root: Path | None = None) -> list[RealQuestion]:
    """Rows of one part, validated; a broken line raises with its file and line number."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    path = real_dir(root) / f"{split}.jsonl"
    rows: list[RealQuestion] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(RealQuestion.model_validate(json.loads(line)))
        except ValueError as exc:
            raise ValueError(f"{path}:{n}: {exc}") from exc
    return rows


def load_all(root: Path | None = None) -> list[RealQuestion]:
    return [q for s in SPLITS for q in load_real(s, root)]


_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalise(text: str) -> str:
    """Case, spacing and punctuation folded away, so a copy with other commas still matches."""
    return " ".join(_NON_WORD.sub(" ", text.casefold()).split())


def training_files(repo_root: Path | None = None) -> list[Path]:
    """Every file that trains or tunes the assistant, which must never hold a test question."""
    root = repo_root or assets_dir().parent
    assets = root / "assets"
    files: list[Path] = sorted((root / "assistant" / "data").glob("*.yaml"))
    kb = assets / "knowledge"
    files += sorted(p for p in kb.rglob("*") if p.suffix in (".yaml", ".yml", ".txt") and p.is_file())
    files += sorted((assets / "assistant").glob("*.jsonl"))
    files += [real_dir(assets) / "train.jsonl", real_dir(assets) / "dev.jsonl"]
    return [p for p in files if p.is_file()]


@dataclass(frozen=True)
class Leak:
    path: Path
    question: str


def find_test_leaks(repo_root: Path | None = None, extra: list[Path] | None = None) -> list[Leak]:
    """Test questions that appear (normalised, on word boundaries) in a training file."""
    root = repo_root or assets_dir().parent
    tests = {normalise(q.question): q.question for q in load_real("test", root / "assets")}
    leaks: list[Leak] = []
    for path in training_files(root) + list(extra or []):
        body = f" {normalise(path.read_text(encoding='utf-8', errors='replace'))} "
        leaks += [Leak(path, orig) for norm, orig in tests.items() if norm and f" {norm} " in body]
    return leaks


def held_out_sha256(root: Path | None = None) -> str:
    return hashlib.sha256((real_dir(root) / "test.jsonl").read_bytes()).hexdigest()


_README_SHA = re.compile(r"test\.jsonl sha256: `([0-9a-f]{64})`")


def recorded_test_sha256(root: Path | None = None) -> str | None:
    """The digest the README records; a changed test file must come with a changed README."""
    m = _README_SHA.search((real_dir(root) / "README.md").read_text(encoding="utf-8"))
    return m.group(1) if m else None
