"""Text normalisation and language detection.

Citizens type fast on phones: "brp", "gmn", "akte", "e-KTP". Both the model
features and the rules read the same normalised text, so training data and live
questions meet in one spelling.
"""

from __future__ import annotations

import re
import unicodedata

_SPACE_RE = re.compile(r"\s+")
_TOKEN_RE = re.compile(r"[a-z0-9]+")

# Colloquial or misspelt token -> canonical token. Kept small and explicit: the
# char n-gram model covers the long tail of typos.
_CANON: dict[str, str] = {
    "gimana": "bagaimana",
    "gmn": "bagaimana",
    "gmana": "bagaimana",
    "bgmn": "bagaimana",
    "bagaimna": "bagaimana",
    "gimna": "bagaimana",
    "brp": "berapa",
    "brapa": "berapa",
    "berapaan": "berapa",
    "brpa": "berapa",
    "bikin": "buat",
    "bkin": "buat",
    "membuat": "buat",
    "ngurus": "urus",
    "mengurus": "urus",
    "urusin": "urus",
    "akte": "akta",
    "akt": "akta",
    "aja": "saja",
    "aj": "saja",
    "apa2": "apa apa",
    "gak": "tidak",
    "ga": "tidak",
    "nggak": "tidak",
    "engga": "tidak",
    "enggak": "tidak",
    "tdk": "tidak",
    "gk": "tidak",
    "yg": "yang",
    "dgn": "dengan",
    "dg": "dengan",
    "utk": "untuk",
    "untk": "untuk",
    "sy": "saya",
    "aku": "saya",
    "gw": "saya",
    "gue": "saya",
    "sya": "saya",
    "dmn": "dimana",
    "dimn": "dimana",
    "mana": "mana",
    "kalo": "kalau",
    "klo": "kalau",
    "kl": "kalau",
    "klau": "kalau",
    "ilang": "hilang",
    "hilng": "hilang",
    "hlang": "hilang",
    "bayar": "bayar",
    "byr": "bayar",
    "syrt": "syarat",
    "sarat": "syarat",
    "syart": "syarat",
    "persyaratan": "syarat",
    "prsyaratan": "syarat",
    "biyaya": "biaya",
    "biya": "biaya",
    "bya": "biaya",
    "lma": "lama",
    "lamanya": "lama",
    "antri": "antrean",
    "antrian": "antrean",
    "antre": "antrean",
    "ngantri": "antrean",
    "daptar": "daftar",
    "dftr": "daftar",
    "mendaftar": "daftar",
    "ektp": "e-ktp",
    "e ktp": "e-ktp",
    "ktpel": "ktp-el",
    "pasport": "paspor",
    "passport": "paspor",
    "pasport2": "paspor",
    "pspor": "paspor",
    "paspr": "paspor",
    "makasih": "terima kasih",
    "makasi": "terima kasih",
    "mksh": "terima kasih",
    "trims": "terima kasih",
    "thx": "thanks",
    "thks": "thanks",
    "tq": "terima kasih",
    "pls": "please",
    "plz": "please",
    "u": "you",
    "ur": "your",
    "hw": "how",
    "hwo": "how",
    "muc": "much",
    "requirments": "requirements",
    "requirement": "requirements",
    "reqs": "requirements",
    "documnets": "documents",
    "dokumen2": "dokumen",
    "berkas2": "berkas",
    "nmr": "nomor",
    "no": "no",
    "skrg": "sekarang",
    "udh": "sudah",
    "udah": "sudah",
    "sdh": "sudah",
    "blm": "belum",
    "blum": "belum",
    "lg": "lagi",
    "tp": "tapi",
    "bs": "bisa",
    "bsa": "bisa",
    "gmna": "bagaimana",
    "knp": "kenapa",
    "ngga": "tidak",
    "trus": "terus",
    "mo": "mau",
    "pengen": "mau",
    "pingin": "mau",
    "pgn": "mau",
    "ingin": "mau",
    "hr": "hari",
    "jd": "jadi",
    "jadinya": "jadi",
    # chat shorthand seen in citizens' questions on public forums and comment threads
    "kpan": "kapan",
    "kpn": "kapan",
    "krn": "karena",
    "karn": "karena",
    "karna": "karena",
    "krna": "karena",
    "dlm": "dalam",
    "hrs": "harus",
    "dr": "dari",
    "ndak": "tidak",
    "nda": "tidak",
    "tau": "tahu",
    "bgtu": "begitu",
    "jwb": "jawab",
    "wlw": "walau",
    "rb": "ribu",
    "org": "orang",
    "jg": "juga",
    "msh": "masih",
    "masi": "masih",
    "tgl": "tanggal",
    "thn": "tahun",
    "bln": "bulan",
    "ortu": "orang tua",
    "sampe": "sampai",
    "ngecek": "cek",
    "dapet": "dapat",
    "tlg": "tolong",
    "bkn": "bukan",
    "nunggu": "tunggu",
    "nanya": "tanya",
    "ngambil": "ambil",
    "ngajuin": "ajukan",
}

_ID_WORDS = frozenset(
    """
    apa apakah saja bagaimana berapa syarat biaya buat urus mau saya kami anak ibu bapak yang dan di ke dari untuk
    dengan tidak sudah belum bisa kalau hilang rusak lama jam buka tutup loket antrean daftar nomor tolong minta cara
    harus perlu bawa dokumen berkas gratis bayar berlaku sampai kapan dimana mana kantor petugas terima kasih halo
    selamat pagi siang sore malam permohonan status cek lahir mati meninggal pindah datang keluarga kartu akta surat
    pajak kendaraan motor mobil tanah bangunan usaha izin sehat miskin tinggal ini itu ada adalah atau juga lagi
    gimana brp bikin aja gak nggak kok dong ya sih nih deh kah pak bu mas mbak om kak tahun hari minggu bulan baru
    ganti perpanjang lengkap boleh bicara orang manusia sekarang apakah bagaimanakah caranya berapakah
    """.split()
)
_EN_WORDS = frozenset(
    """
    what how much many long does do is are the a an of to for my i me we you your can could would should need needs
    needed get make apply renew lost damaged broken fee fees cost costs price requirements documents document required
    valid validity where when which office hours open close opening closing queue ticket number status check
    application track tracking talk speak human officer person staff hello hi hey good morning afternoon evening
    thanks thank please want with without take takes card certificate birth death family passport tax vehicle land
    building business health insurance letter residence poor help there it this that be in on at by from or and
    will have has did am was were procedure process steps step who whom why day days week weeks free pay
    """.split()
)


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


# A service's spelled-out name -> the acronym citizens and the knowledge base mostly use. Without it
# "syarat membuat pajak bumi dan bangunan" matched the overview case, whose cue is the bare name, more
# closely than the requirements case's "syarat pbb": the name, not the question, picked the case.
_NAMES: tuple[tuple[str, str], ...] = (
    ("pajak bumi dan bangunan perdesaan dan perkotaan", "pbb"),
    ("pajak bumi dan bangunan", "pbb"),
    ("pajak bumi bangunan", "pbb"),
    ("nomor induk berusaha", "nib"),
    ("surat keterangan catatan kepolisian", "skck"),
    ("surat catatan kepolisian", "skck"),
    ("surat keterangan tidak mampu", "sktm"),
    ("kartu identitas anak", "kia"),
)
_NAMES_RE = re.compile(r"(?<![a-z0-9])(" + "|".join(re.escape(a) for a, _ in _NAMES) + r")(?![a-z0-9])")
_NAME_OF = dict(_NAMES)


def normalize(text: str) -> str:
    """Lower-case, drop accents and punctuation noise, canonicalise colloquial tokens and service names."""
    t = strip_accents(text).lower()
    t = t.replace("e-ktp", " ektp ").replace("ktp-el", " ktpel ").replace("ktp el ", " ktpel ")
    t = re.sub(r"[^a-z0-9/\-\s]", " ", t)
    t = re.sub(r"(?<![a-z0-9])-|-(?![a-z0-9])", " ", t)
    tokens = []
    for tok in t.split():
        tokens.append(_CANON.get(tok, tok))
    out = _SPACE_RE.sub(" ", " ".join(tokens)).strip()
    return _NAMES_RE.sub(lambda m: _NAME_OF[m.group(1)], out)


def tokens(text: str) -> list[str]:
    return _TOKEN_RE.findall(text.lower())


def detect_lang(text: str, default: str = "id") -> str:
    """Guess id/en from function words; short or ambiguous text keeps ``default``.

    A lexicon vote is enough here: the two languages share almost no function
    words, and the conversation's language is a good prior for "ya", "KTP", "1".
    """
    toks = [_CANON.get(t, t) for t in tokens(strip_accents(text))]
    if not toks:
        return default
    en = sum(1 for t in toks if t in _EN_WORDS)
    id_ = sum(1 for t in toks if t in _ID_WORDS)
    if en > id_:
        return "en"
    if id_ > en:
        return "id"
    return default
