"""Every user-facing string of the 3D hall, in both product languages, in one table."""

from __future__ import annotations

STRINGS: dict[str, dict[str, str]] = {
    "app_title": {"id": "Mal Pelayanan Publik Virtual", "en": "Virtual Public Service Mall"},
    "connecting": {"id": "Menghubungkan…", "en": "Connecting…"},
    "reconnecting": {"id": "Menghubungkan ulang…", "en": "Reconnecting…"},
    "online": {"id": "Terhubung", "en": "Connected"},
    "offline_hint": {
        "id": "Server tidak terjangkau; aula tetap bisa dijelajahi.",
        "en": "Server unreachable; you can still explore the hall.",
    },
    "counter": {"id": "Loket", "en": "Counter"},
    "now_serving": {"id": "Sedang dilayani", "en": "Now serving"},
    "waiting": {"id": "menunggu", "en": "waiting"},
    "board_title": {"id": "ANTREAN SAAT INI", "en": "NOW SERVING"},
    "info_desk": {"id": "Informasi", "en": "Information"},
    "assistant_name": {"id": "Asisten MPP", "en": "MPP Assistant"},
    "entrance": {"id": "Selamat Datang", "en": "Welcome"},
    "chat_title": {"id": "Tanya Asisten", "en": "Ask the assistant"},
    "chat_placeholder": {"id": "Ketik pertanyaan lalu Enter", "en": "Type a question, then Enter"},
    "send": {"id": "Kirim", "en": "Send"},
    "close": {"id": "Tutup", "en": "Close"},
    "you": {"id": "Anda", "en": "You"},
    "officer": {"id": "Petugas", "en": "Officer"},
    "system": {"id": "Sistem", "en": "System"},
    "form_title": {"id": "Formulir", "en": "Form"},
    "submit": {"id": "Ajukan", "en": "Submit"},
    "cancel": {"id": "Batal", "en": "Cancel"},
    "required": {"id": "wajib", "en": "required"},
    "form_sent": {"id": "Permohonan terkirim", "en": "Application submitted"},
    "too_long": {
        "id": "Pesan terlalu panjang (maksimal {n} karakter) dan tidak dikirim. Mohon ringkas pertanyaan Anda.",
        "en": "The message is too long (at most {n} characters) and was not sent. Please shorten your question.",
    },
    "form_invalid": {"id": "Periksa isian yang ditandai.", "en": "Please check the marked fields."},
    "form_error": {"id": "Gagal mengirim, coba lagi.", "en": "Could not submit, please retry."},
    "ticket_title": {"id": "Tiket Antrean", "en": "Queue Ticket"},
    "estimated_wait": {"id": "Perkiraan tunggu", "en": "Estimated wait"},
    "minutes": {"id": "menit", "en": "minutes"},
    "tracker_title": {"id": "Lacak Permohonan", "en": "Track Application"},
    "tracking_number": {"id": "Nomor permohonan", "en": "Tracking number"},
    "settings": {"id": "Pengaturan", "en": "Settings"},
    "language": {"id": "Bahasa", "en": "Language"},
    "text_size": {"id": "Ukuran teks", "en": "Text size"},
    "handoff": {
        "id": "Percakapan diteruskan ke petugas. Mohon tunggu sebentar.",
        "en": "Your conversation was passed to an officer. Please wait a moment.",
    },
    "walking_to": {"id": "Mari saya antar ke Loket {n}.", "en": "Let me take you to Counter {n}."},
    "lounge": {"id": "Lounge Pelayanan Publik", "en": "Public Service Lounge"},
    "sample_data": {"id": "Data contoh", "en": "Sample data"},
    "chart_village": {"id": "Status Desa (IDM)", "en": "Village status (IDM)"},
    "chart_budget": {"id": "Realisasi APBD per urusan", "en": "Budget realisation by sector"},
    "chart_poverty": {"id": "Persentase penduduk miskin", "en": "Share of people in poverty"},
    "chart_loading": {"id": "Memuat data…", "en": "Loading data…"},
    "villages": {"id": "desa", "en": "villages"},
    "hint_keys": {
        "id": "WASD/panah: jalan · klik lantai: menuju · Enter: tanya asisten · F1: pengaturan · F2: permohonan",
        "en": "WASD/arrows: walk · click floor: go · Enter: ask the assistant · F1: settings · F2: applications",
    },
    "queued_offline": {
        "id": "Sedang terputus; pertanyaan Anda dikirim begitu tersambung lagi.",
        "en": "Disconnected; your question is sent as soon as the connection is back.",
    },
    "talk_hint": {"id": "Tekan Enter untuk bertanya kepada asisten", "en": "Press Enter to talk to the assistant"},
    "loading": {"id": "Memuat…", "en": "Loading…"},
    "booting": {"id": "Menyiapkan aula…", "en": "Preparing the hall…"},
    "form_loading": {"id": "Memuat formulir…", "en": "Loading the form…"},
    "form_load_failed": {"id": "Formulir tidak dapat dimuat.", "en": "The form could not be loaded."},
    "form_sending": {"id": "Mengirim…", "en": "Sending…"},
    "code_prompt": {
        "id": "Kode 6 angka dikirim ke kontak terdaftar NIK ini. Ketik kodenya:",
        "en": "A 6-digit code was sent to this NIK's registered contact. Type it:",
    },
    "code_verify": {"id": "Verifikasi", "en": "Verify"},
    "code_wrong": {"id": "Kode harus 6 angka.", "en": "The code has 6 digits."},
    "choose": {"id": "Pilih", "en": "Choose"},
    "ticket_number": {"id": "Nomor antrean", "en": "Ticket number"},
    "ticket_state_waiting": {"id": "Menunggu dipanggil", "en": "Waiting to be called"},
    "ticket_state_called": {"id": "Dipanggil! Silakan ke loket", "en": "Called! Please go to the counter"},
    "ticket_state_served": {"id": "Sudah dilayani", "en": "Served"},
    "ticket_state_skipped": {"id": "Dilewati", "en": "Skipped"},
    "called_invite": {
        "id": "Nomor {code} dipanggil ke Loket {n}. Mari saya antar.",
        "en": "Number {code} is called to Counter {n}. Let me take you there.",
    },
    "go_there": {"id": "Antar saya", "en": "Take me there"},
    "no_applications": {"id": "Belum ada permohonan.", "en": "No applications yet."},
    "doc_ready": {"id": "Dokumen Anda sudah jadi, bisa dicetak.", "en": "Your document is ready and can be printed."},
    "doc_handed_over": {
        "id": "Petugas loket menyerahkan dokumen {number} kepada Anda.",
        "en": "The counter officer hands you document {number}.",
    },
    "doc_revoked": {"id": "Dokumen {number} dicabut.", "en": "Document {number} was revoked."},
    "doc_line": {"id": "Dokumen {number}: {state}", "en": "Document {number}: {state}"},
    "doc_state_issued": {"id": "siap dicetak", "en": "ready to print"},
    "doc_state_handed_over": {"id": "sudah diserahkan", "en": "handed over"},
    "doc_state_revoked": {"id": "dicabut", "en": "revoked"},
    "doc_save": {"id": "Simpan PDF", "en": "Save PDF"},
    "doc_saved": {"id": "Dokumen tersimpan: {path}", "en": "Document saved: {path}"},
    "doc_save_failed": {"id": "Dokumen belum bisa diunduh.", "en": "The document could not be downloaded."},
    "call_connecting": {"id": "Menyambungkan panggilan video…", "en": "Connecting the video call…"},
    "call_ended": {"id": "Panggilan berakhir.", "en": "The call has ended."},
    "call_no_path": {
        "id": "Panggilan tidak tersambung. Lanjutkan lewat obrolan.",
        "en": "The call could not connect. Carry on in the chat.",
    },
    "call_missing": {"id": "Tidak ada {devices}", "en": "No {devices}"},
    "dev_camera": {"id": "kamera", "en": "camera"},
    "dev_microphone": {"id": "mikrofon", "en": "microphone"},
    "dev_speaker": {"id": "pengeras suara", "en": "speaker"},
    "handoff_accepted": {
        "id": "Petugas {officer} di Loket {n} siap membantu Anda.",
        "en": "Officer {officer} at Counter {n} is ready to help you.",
    },
    "lang_id": {"id": "Bahasa Indonesia", "en": "Bahasa Indonesia"},
    "lang_en": {"id": "English", "en": "English"},
    "smaller": {"id": "Perkecil", "en": "Smaller"},
    "larger": {"id": "Perbesar", "en": "Larger"},
    "server_error": {"id": "Server sedang bermasalah, coba lagi.", "en": "The server has a problem, please retry."},
    "state_draft": {"id": "Draf", "en": "Draft"},
    "state_submitted": {"id": "Diajukan", "en": "Submitted"},
    "state_verified": {"id": "Diverifikasi", "en": "Verified"},
    "state_in_process": {"id": "Diproses", "en": "In process"},
    "state_ready": {"id": "Siap diambil", "en": "Ready"},
    "state_completed": {"id": "Selesai", "en": "Completed"},
    "state_needs_revision": {"id": "Perlu perbaikan", "en": "Needs revision"},
    "state_rejected": {"id": "Ditolak", "en": "Rejected"},
    "state_cancelled": {"id": "Dibatalkan", "en": "Cancelled"},
}

LANGS = ("id", "en")


def t(key: str, lang: str, **fmt: object) -> str:
    """Look up ``key``; unknown keys are a programming error and raise KeyError."""
    entry = STRINGS[key]
    text = entry["en"] if lang == "en" else entry["id"]
    return text.format(**fmt) if fmt else text


def state_label(state: str, lang: str) -> str:
    key = f"state_{state}"
    return t(key, lang) if key in STRINGS else state


__all__ = ["LANGS", "STRINGS", "state_label", "t"]
