"""``mpp bench documents``: documents rendered and signed per second, next to render-only in the same run."""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from protocol.catalog import default_catalog
from server.domain.documents import layouts, pki
from server.domain.documents.render import render_pdf
from server.domain.documents.sign import sign_pdf
from server.domain.documents.verify import check_pdf


def _spec(material: pki.KeyMaterial, i: int) -> layouts.Context:
    catalog = default_catalog()
    return layouts.Context(
        service=catalog.service("akta-kelahiran"),
        data={
            "nik": "3510011204900001",
            "full_name": "Budi Santoso",
            "child_name": f"Ayu Lestari {i}",
            "birth_date": "2026-12-01",
            "birth_place": "Banyuwangi",
            "child_sex": "P",
        },
        number=layouts.document_number("akta-kelahiran", i, dt.date(2026, 12, 7)),
        code=f"bench-code-{i:012d}",
        verify_url=f"http://127.0.0.1:8765/verify/bench-code-{i:012d}",
        issued=dt.date(2026, 12, 7),
        specimen=material.development,
        village=None,
        birth={"mother_name": "Siti Aminah", "father_name": "Budi Santoso", "facility": "RSUD Blambangan"},
        signer_title=pki.ROLES["dukcapil"].title_id,
    )


def _rate(n: int, fn: Callable[[int], object]) -> float:
    fn(-1)  # warm-up: fonts, key parsing
    t0 = time.perf_counter()
    for i in range(n):
        fn(i)
    return n / (time.perf_counter() - t0)


def run(count: int, pki_dir: Path | None = None) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        material = pki.key_material(pki_dir or Path(tmp) / "pki")
        sample = render_pdf(layouts.build_spec(_spec(material, 0)))
        signed_sample = sign_pdf(sample, material, "dukcapil", reason="bench")
        render_only = _rate(count, lambda i: render_pdf(layouts.build_spec(_spec(material, i))))
        sign_only = _rate(count, lambda i: sign_pdf(sample, material, "dukcapil", reason="bench"))
        both = _rate(
            count,
            lambda i: sign_pdf(
                render_pdf(layouts.build_spec(_spec(material, i))), material, "dukcapil", reason="bench"
            ),
        )
        verify = _rate(count, lambda i: check_pdf(signed_sample, material.trust_roots))
    figures = {"render_only": render_only, "sign_only": sign_only, "render_sign": both, "verify": verify}
    print(f"documents: {count} Kutipan Akta Kelahiran per measurement, one core, EC P-256 key, no TSA")
    print(f"  render only (baseline)   {render_only:8.1f} docs/s  {1000 / render_only:6.1f} ms/doc")
    print(f"  sign only (PAdES)        {sign_only:8.1f} docs/s  {1000 / sign_only:6.1f} ms/doc")
    print(
        f"  render + sign            {both:8.1f} docs/s  {1000 / both:6.1f} ms/doc"
        f"  = {both / render_only:.2f}x render-only"
    )
    print(f"  verify (pyHanko)         {verify:8.1f} docs/s  {1000 / verify:6.1f} ms/doc")
    return figures
