"""Which services issue which document, and the fields each printed document shows.

The fields follow the printed originals as far as the application data reaches:
a Kutipan Akta Kelahiran names the child, place and date of birth and the parents;
a village letter names the resident and the purpose; the SKCK claim slip says
where the printed SKCK is collected.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from protocol.catalog import Service
from server.domain.documents.render import DocSpec

MONTHS = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)
DUKCAPIL_HEAD = ("PEMERINTAH KABUPATEN BANYUWANGI", "DINAS KEPENDUDUKAN DAN PENCATATAN SIPIL")


@dataclass(frozen=True)
class Kind:
    """One kind of issued document: its title, number series and signer role."""

    key: str
    title_id: str
    title_en: str
    prefix: str
    role: str
    claim_slip: bool = False


KINDS: dict[str, Kind] = {
    "akta-kelahiran": Kind("akta-kelahiran", "Kutipan Akta Kelahiran", "Birth certificate", "LU", "dukcapil"),
    "akta-kematian": Kind("akta-kematian", "Kutipan Akta Kematian", "Death certificate", "KM", "dukcapil"),
    "kartu-keluarga": Kind("kartu-keluarga", "Kartu Keluarga", "Family card", "KK", "dukcapil"),
    "kia": Kind("kia", "Kartu Identitas Anak", "Child identity card", "KIA", "dukcapil"),
    "surat-domisili": Kind("surat-domisili", "Surat Keterangan Domisili", "Certificate of domicile", "DOM", "desa"),
    "sktm": Kind("sktm", "Surat Keterangan Tidak Mampu", "Certificate of low income", "SKTM", "desa"),
    "skck": Kind("skck", "Tanda Terima Pengambilan SKCK", "SKCK claim slip", "SKCK", "polri", claim_slip=True),
}


def issues_document(service_id: str) -> bool:
    return service_id in KINDS


def date_id(d: dt.date) -> str:
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def document_number(service_id: str, app_id: int, issued: dt.date) -> str:
    """Deterministic per application, so a re-issue after a crash gets the same number."""
    kind = KINDS[service_id]
    if kind.role == "dukcapil":
        return f"3510-{kind.prefix}-{issued:%d%m%Y}-{app_id:06d}"
    if kind.role == "desa":
        code = "470" if service_id == "surat-domisili" else "401"
        return f"{code}/{app_id:06d}/{kind.prefix}/{issued.year}"
    return f"{kind.prefix}/BWI/{issued.year}/{app_id:06d}"


def mask_name(name: str) -> str:
    """``Budi Santoso`` → ``B*** S******``: enough to recognise one's own document, not to learn a name."""
    return " ".join(w[0] + "*" * (len(w) - 1) for w in name.split() if w)


def _opt(service: Service | None, field: str, value: Any) -> str:
    if service is None or value is None:
        return str(value or "")
    for f in service.form:
        if f.name == field:
            for o in f.options or ():
                if o.value == value:
                    return o.label.id
    return str(value)


def _date(value: Any) -> str:
    try:
        return date_id(dt.date.fromisoformat(str(value)))
    except ValueError:
        return str(value or "")


@dataclass(frozen=True)
class Context:
    service: Service | None
    data: dict[str, Any]
    number: str
    code: str
    verify_url: str
    issued: dt.date
    specimen: bool
    village: tuple[str, str] | None  # (village name, kecamatan name)
    birth: dict[str, Any] | None  # a Lahir Procot registration: parents and facility
    signer_title: str


def holder_name(service_id: str, data: dict[str, Any]) -> str:
    if service_id == "akta-kelahiran" and data.get("child_name"):
        return str(data["child_name"])
    return str(data.get("full_name", ""))


def _birth(c: Context) -> DocSpec:
    d = c.data
    sex = "laki-laki" if d.get("child_sex") == "L" else "perempuan"
    b = c.birth or {}
    fields: list[tuple[str, str]] = [
        ("Nama anak", str(d.get("child_name", "")).upper()),
        ("Jenis kelamin", sex.capitalize()),
        ("Tempat lahir", str(d.get("birth_place", ""))),
        ("Tanggal lahir", _date(d.get("birth_date"))),
    ]
    if b.get("birth_time"):
        fields.append(("Pukul", f"{b['birth_time']} WIB"))
    if b:
        fields += [("Nama ibu", str(b.get("mother_name", ""))), ("Nama ayah", str(b.get("father_name", "") or "-"))]
        if b.get("facility"):
            fields.append(("Tempat persalinan", str(b["facility"])))
    else:
        fields.append(("Pelapor (orang tua)", str(d.get("full_name", ""))))
    parents = (
        f"dari ibu {b.get('mother_name')}" + (f" dan ayah {b.get('father_name')}" if b.get("father_name") else "")
        if b
        else f"yang dilaporkan oleh {d.get('full_name', '')}"
    )
    return _spec(
        c,
        DUKCAPIL_HEAD,
        intro=f"Berdasarkan Akta Kelahiran Nomor {c.number}, pencatatan sipil Kabupaten Banyuwangi menerangkan:",
        fields=fields,
        closing=(
            f"bahwa di {d.get('birth_place', '')} pada tanggal {_date(d.get('birth_date'))} telah lahir "
            f"{str(d.get('child_name', '')).upper()}, anak {sex} {parents}."
        ),
        subtitle="PENCATATAN SIPIL — WARGA NEGARA INDONESIA",
    )


def _death(c: Context) -> DocSpec:
    d = c.data
    return _spec(
        c,
        DUKCAPIL_HEAD,
        intro=f"Berdasarkan Akta Kematian Nomor {c.number}, pencatatan sipil Kabupaten Banyuwangi menerangkan:",
        fields=[
            ("NIK yang meninggal", str(d.get("deceased_nik", ""))),
            ("Tanggal kematian", _date(d.get("death_date"))),
            ("Pelapor", str(d.get("full_name", ""))),
            ("Hubungan pelapor", _opt(c.service, "relationship", d.get("relationship"))),
        ],
        closing=f"bahwa pada tanggal {_date(d.get('death_date'))} telah meninggal dunia penduduk dengan NIK di atas.",
        subtitle="PENCATATAN SIPIL — WARGA NEGARA INDONESIA",
    )


def _village_line(c: Context) -> str:
    return f"Desa/Kelurahan {c.village[0]}, Kecamatan {c.village[1]}" if c.village else str(c.data.get("village", ""))


def _kk(c: Context) -> DocSpec:
    d = c.data
    return _spec(
        c,
        DUKCAPIL_HEAD,
        fields=[
            ("Nama kepala keluarga", str(d.get("full_name", "")).upper()),
            ("NIK kepala keluarga", str(d.get("nik", ""))),
            ("Alamat", _village_line(c)),
            ("Kabupaten", "Banyuwangi"),
            ("Provinsi", "Jawa Timur"),
            ("Alasan penerbitan", _opt(c.service, "reason", d.get("reason"))),
        ],
        closing="Susunan anggota keluarga mengikuti data kependudukan yang tercatat pada tanggal penerbitan.",
    )


def _kia(c: Context) -> DocSpec:
    d = c.data
    return _spec(
        c,
        DUKCAPIL_HEAD,
        fields=[
            ("Nomor akta kelahiran", str(d.get("birth_certificate_number", ""))),
            ("NIK orang tua", str(d.get("parent_nik", ""))),
            ("Pemohon", str(d.get("full_name", ""))),
        ],
        closing="Kartu Identitas Anak berlaku sampai anak berusia 17 tahun.",
    )


def _village_head(c: Context) -> tuple[str, ...]:
    v = c.village
    lines = ["PEMERINTAH KABUPATEN BANYUWANGI"]
    if v:
        lines += [f"KECAMATAN {v[1].upper()}", f"DESA/KELURAHAN {v[0].upper()}"]
    return tuple(lines)


def _domisili(c: Context) -> DocSpec:
    d = c.data
    place = c.village[0] if c.village else "Banyuwangi"
    return _spec(
        c,
        _village_head(c),
        intro=f"Yang bertanda tangan di bawah ini, Kepala Desa/Lurah {place}, menerangkan bahwa:",
        fields=[
            ("Nama", str(d.get("full_name", "")).upper()),
            ("NIK", str(d.get("nik", ""))),
            ("Alamat", str(d.get("address", ""))),
            ("Desa/Kelurahan", _village_line(c)),
        ],
        closing=(
            f"benar berdomisili di alamat tersebut. Surat keterangan ini dibuat untuk keperluan "
            f"{d.get('purpose', '')} dan dapat dipergunakan sebagaimana mestinya."
        ),
        place=place,
    )


def _sktm(c: Context) -> DocSpec:
    d = c.data
    place = c.village[0] if c.village else "Banyuwangi"
    return _spec(
        c,
        _village_head(c),
        intro=f"Yang bertanda tangan di bawah ini, Kepala Desa/Lurah {place}, menerangkan bahwa:",
        fields=[
            ("Nama", str(d.get("full_name", "")).upper()),
            ("NIK", str(d.get("nik", ""))),
            ("Desa/Kelurahan", _village_line(c)),
            ("Jumlah anggota keluarga", str(d.get("household_size", ""))),
            ("Keperluan", _opt(c.service, "purpose", d.get("purpose"))),
        ],
        closing="adalah benar warga kami yang tergolong keluarga tidak mampu. Surat keterangan ini berlaku 6 bulan.",
        place=place,
    )


def _skck(c: Context) -> DocSpec:
    d = c.data
    return _spec(
        c,
        ("KEPOLISIAN NEGARA REPUBLIK INDONESIA", "POLRESTA BANYUWANGI — LOKET SKCK MAL PELAYANAN PUBLIK"),
        fields=[
            ("Nama", str(d.get("full_name", "")).upper()),
            ("NIK", str(d.get("nik", ""))),
            ("Tempat lahir", str(d.get("birth_place", ""))),
            ("Keperluan", _opt(c.service, "purpose", d.get("purpose"))),
        ],
        notice=(
            "Ini BUKAN SKCK. SKCK tercetak diambil di Loket 3 (Polresta) Mal Pelayanan Publik Banyuwangi "
            "dengan menunjukkan tanda terima ini dan KTP-el asli."
        ),
    )


def _spec(
    c: Context,
    letterhead: tuple[str, ...],
    *,
    fields: list[tuple[str, str]],
    intro: str = "",
    closing: str = "",
    notice: str = "",
    subtitle: str = "",
    place: str = "Banyuwangi",
) -> DocSpec:
    kind = KINDS[c.service.id if c.service else ""]
    return DocSpec(
        title=kind.title_id,
        number=c.number,
        letterhead=letterhead,
        fields=tuple(fields),
        signer_title=c.signer_title,
        place_date=f"{place}, {date_id(c.issued)}",
        verify_url=c.verify_url,
        code=c.code,
        intro=intro,
        closing=closing,
        notice=notice,
        specimen=c.specimen,
        subtitle=subtitle,
    )


LAYOUTS: dict[str, Callable[[Context], DocSpec]] = {
    "akta-kelahiran": _birth,
    "akta-kematian": _death,
    "kartu-keluarga": _kk,
    "kia": _kia,
    "surat-domisili": _domisili,
    "sktm": _sktm,
    "skck": _skck,
}


def build_spec(c: Context) -> DocSpec:
    assert c.service is not None
    return LAYOUTS[c.service.id](c)
