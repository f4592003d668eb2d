"""Control words a visitor types inside the dialogue (yes, no, cancel, back...), id and en."""

from __future__ import annotations

import re

YES = re.compile(
    r"^(ya|iya|y|yes|yep|ok|oke|okay|benar|betul|sudah|sdh|udah|bawa|ada|lengkap|kirim|submit|setuju|sure)\b"
)
NO = re.compile(r"^(tidak|no|nope|belum|ga|gak|nggak|enggak|tak|salah|ubah|change|ganti|bukan)\b")
CANCEL = re.compile(r"^(batal|batalkan|cancel|stop|berhenti|keluar|quit|exit)\b")
REPEAT = re.compile(r"^(ulangi|ulang|repeat|again|lagi|apa tadi)\b")
BACK = re.compile(r"^(kembali|back|mundur|sebelumnya|previous)\b")
SKIP = re.compile(r"^(lewati|lewat|skip|kosong|tidak ada|none|-)$")
CORRECT = re.compile(r"^(bukan|salah|koreksi|ralat|maksud saya|maksudnya|not|no,|wrong|correction|sorry)\b[\s,:]*")

# Words that point a correction at a field, by field name fragment.
FIELD_HINTS: list[tuple[re.Pattern[str], tuple[str, ...]]] = [
    (re.compile(r"\bnama anak(nya)?\b|\bchild'?s name\b"), ("child_name",)),
    (re.compile(r"\bnama(nya)?\b|\bname\b"), ("full_name", "name")),
    (re.compile(r"\bnik(nya)?\b"), ("nik",)),
    (re.compile(r"\b(tanggal|tgl|date)(nya)?\b"), ("date",)),
    (re.compile(r"\b(hp|telepon|telp|nomor hp|phone|wa)(nya)?\b"), ("phone",)),
    (re.compile(r"\b(email|e-mail|surel)(nya)?\b"), ("email",)),
    (re.compile(r"\b(desa|kelurahan|village)(nya)?\b"), ("village",)),
    (re.compile(r"\b(alamat|address)(nya)?\b"), ("address",)),
    (re.compile(r"\b(kk|kartu keluarga)(nya)?\b"), ("kk_number",)),
]
