"""Regenerate the sample lounge CSVs (run by hand; nothing calls this at run time).

The figures are invented but plausible, and derived from a hash of each row's
name so that a rerun reproduces the committed files byte for byte.
Usage: python assets/dashboard/make_sample.py
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
LABEL = "Data contoh / Sample data"

# IDM status bands (Kemendes PDTT): upper bounds, inclusive.
IDM_BANDS = (
    (0.4907, "Sangat Tertinggal", "Very underdeveloped"),
    (0.5989, "Tertinggal", "Underdeveloped"),
    (0.7072, "Berkembang", "Developing"),
    (0.8155, "Maju", "Advanced"),
    (1.0, "Mandiri", "Self-reliant"),
)


def unit(*parts: object) -> float:
    """A stable number in [0, 1) from the given parts."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def idm_status(score: float) -> tuple[str, str]:
    for upper, status_id, status_en in IDM_BANDS:
        if score <= upper:
            return status_id, status_en
    raise ValueError(score)


def village_progress() -> list[dict[str, object]]:
    data = json.loads((HERE.parent / "regions" / "banyuwangi.json").read_text(encoding="utf-8"))
    rows: list[dict[str, object]] = []
    for kec in data["kecamatan"]:
        for v in kec["villages"]:
            if v["kind"] != "desa":
                continue  # IDM scores desa only; kelurahan are not ranked
            base = 0.66 + 0.22 * unit("idm", kec["code"], v["name"])
            iks = min(0.99, base + 0.06 * (unit("iks", v["name"]) - 0.3))
            ike = min(0.99, base + 0.10 * (unit("ike", v["name"]) - 0.6))
            ikl = min(0.99, base + 0.08 * (unit("ikl", v["name"]) - 0.5))
            idm = round((iks + ike + ikl) / 3, 4)
            status_id, status_en = idm_status(idm)
            slug = "".join(ch for ch in v["name"].lower() if ch.isalnum())
            rows.append(
                {
                    "year": 2025,
                    "village_id": f"{kec['code']}-{slug}",
                    "village": v["name"],
                    "kecamatan_code": kec["code"],
                    "kecamatan": kec["name"],
                    "iks": f"{iks:.4f}",
                    "ike": f"{ike:.4f}",
                    "ikl": f"{ikl:.4f}",
                    "idm": f"{idm:.4f}",
                    "status_id": status_id,
                    "status_en": status_en,
                    "label": LABEL,
                }
            )
    return rows


SECTORS = (
    ("Pendidikan", "Education", 1_020),
    ("Kesehatan", "Health", 640),
    ("Pekerjaan Umum dan Penataan Ruang", "Public works and spatial planning", 420),
    ("Perumahan dan Kawasan Permukiman", "Housing and settlements", 95),
    ("Sosial", "Social affairs", 70),
    ("Pertanian dan Pangan", "Agriculture and food", 85),
    ("Kelautan dan Perikanan", "Marine affairs and fisheries", 40),
    ("Pariwisata", "Tourism", 60),
    ("Perhubungan", "Transport", 55),
    ("Lingkungan Hidup", "Environment", 65),
    ("Kependudukan dan Pencatatan Sipil", "Population and civil registration", 25),
    ("Koperasi dan UMKM", "Cooperatives and small businesses", 20),
    ("Ketenteraman dan Ketertiban Umum", "Public order", 35),
    ("Pemberdayaan Masyarakat dan Desa", "Community and village empowerment", 330),
    ("Administrasi Pemerintahan", "Government administration", 480),
)


def budget() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for year in (2024, 2025):
        growth = 1.0 if year == 2024 else 1.04
        for sector_id, sector_en, billions in SECTORS:
            pagu = round(billions * growth * (0.97 + 0.06 * unit("pagu", year, sector_id)), 1) * 1_000_000_000
            pct = 86.0 + 12.0 * unit("real", year, sector_id)
            realisasi = round(pagu * pct / 100 / 1_000_000) * 1_000_000
            rows.append(
                {
                    "year": year,
                    "sector_id": sector_id,
                    "sector_en": sector_en,
                    "pagu": int(pagu),
                    "realisasi": int(realisasi),
                    "percent": f"{100 * realisasi / pagu:.1f}",
                    "label": LABEL,
                }
            )
    return rows


# Year, percent poor, poverty line (Rp per capita per month); population grows slowly.
POVERTY = (
    (2019, 7.6, 390_000),
    (2020, 8.1, 408_000),
    (2021, 8.2, 422_000),
    (2022, 7.6, 447_000),
    (2023, 7.3, 476_000),
    (2024, 6.9, 497_000),
    (2025, 6.5, 515_000),
)


def poverty() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for i, (year, pct, line) in enumerate(POVERTY):
        population = 1_720_000 + 9_500 * i
        rows.append(
            {
                "year": year,
                "percent_poor": f"{pct:.2f}",
                "poor_people": round(population * pct / 100 / 10) * 10,
                "population": population,
                "poverty_line_rupiah": line,
                "label": LABEL,
            }
        )
    return rows


def write(name: str, rows: list[dict[str, object]]) -> None:
    with (HERE / name).open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    write("village_progress.csv", village_progress())
    write("budget.csv", budget())
    write("poverty.csv", poverty())


if __name__ == "__main__":
    main()
