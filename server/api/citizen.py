"""The citizen's 2D page at ``/``: one server-rendered template plus vanilla JS, no build step.

Everything the page shows comes from the public API and the citizen websocket;
this module only serves the shell, its strings (id/en) and two static files.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from server.errors import not_found

router = APIRouter(include_in_schema=False)
HERE = Path(__file__).resolve().parent.parent  # server/: the templates and static files
TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))
STATIC = {
    "citizen.js": "text/javascript",
    "citizen-guided.js": "text/javascript",
    "call.js": "text/javascript",
    "citizen.css": "text/css",
}

# key: (Bahasa Indonesia, English). The page gets the whole table and swaps languages without a reload.
STRINGS: dict[str, tuple[str, str]] = {
    "title": ("MPP Virtual Banyuwangi", "Virtual MPP Banyuwangi"),
    "subtitle": (
        "Mal Pelayanan Publik — urus layanan dari mana saja",
        "Public Service Mall — get services done from anywhere",
    ),
    "skip": ("Langsung ke isi", "Skip to content"),
    "lang_switch": ("English", "Bahasa Indonesia"),
    "lang_switch_label": ("Switch to English", "Ganti ke Bahasa Indonesia"),
    "contrast": ("Kontras tinggi", "High contrast"),
    "call_officer": ("Panggil Petugas", "Call an officer"),
    # guided mode: one step at a time, big buttons, everything said aloud
    "g_enter": ("Mode Dibantu", "Guided mode"),
    "g_exit": ("Keluar dari Mode Dibantu", "Leave guided mode"),
    "g_repeat": ("Ulangi", "Repeat"),
    "g_back": ("Kembali", "Back"),
    "g_next": ("Lanjut", "Continue"),
    "g_other": ("Layanan lainnya", "Other services"),
    "g_yes": ("Ya, benar", "Yes, correct"),
    "g_no": ("Tidak, ubah", "No, change it"),
    "g_ok": ("OK", "OK"),
    "g_greet_title": ("Selamat datang", "Welcome"),
    "g_greet": (
        "Selamat datang di MPP Banyuwangi. Saya akan menemani Anda. Apa yang Anda perlukan hari ini?",
        "Welcome to MPP Banyuwangi. I will stay with you. What do you need today?",
    ),
    "g_more": ("Pilih layanan yang Anda perlukan.", "Choose the service you need."),
    "g_purpose": ("Untuk keperluan apa?", "What is it for?"),
    "g_req_title": ("Syarat", "Requirements"),
    "g_req": ("Untuk {service}, yang perlu Anda bawa:", "For {service}, please bring:"),
    "g_docs_title": ("Dokumen", "Documents"),
    "g_docs": ("Apakah semua dokumen itu sudah Anda punya?", "Do you have all these documents?"),
    "g_docs_all": ("Semua ada", "I have them all"),
    "g_docs_each": ("Periksa satu per satu", "Check one by one"),
    "g_doc": ("Apakah Anda punya {doc}?", "Do you have {doc}?"),
    "g_have": ("Ada", "Yes, I have it"),
    "g_havenot": ("Belum ada", "Not yet"),
    "g_missing": (
        "Yang belum ada: {docs}. Anda tetap bisa mendaftar sekarang dan membawanya nanti.",
        "Still missing: {docs}. You can still apply now and bring them later.",
    ),
    "g_walk_title": ("Mari ikut saya", "Please follow me"),
    "g_walk": (
        "Mari ikut saya ke Loket {n}, {agency}. Di halaman ini petugas loket itu melayani Anda dari jauh.",
        "Please follow me to counter {n}, {agency}. On this page that counter serves you remotely.",
    ),
    "g_identity": ("NIK Anda {nik}, nama {name}. Benar?", "Your NIK is {nik}, name {name}. Is that right?"),
    "g_field": ("Silakan isi: {label}", "Please fill in: {label}"),
    "g_contact_title": ("Nomor HP atau e-mail", "Mobile number or e-mail"),
    "g_contact": (
        "Tulis nomor HP atau e-mail Anda. Kode rahasia dikirim ke kontak yang terdaftar untuk NIK Anda; "
        "bila NIK Anda belum terdaftar, ke kontak ini.",
        "Type your mobile number or e-mail. A secret code goes to the contact registered for your NIK; "
        "if your NIK is not registered yet, to this one.",
    ),
    "g_code_title": ("Kode rahasia", "Secret code"),
    "g_code": (
        "Ketik kode 6 angka yang baru dikirim ke HP atau e-mail Anda.",
        "Type the 6-digit code just sent to your phone or e-mail.",
    ),
    "g_code_readback": ("Anda mengetik {code}.", "You typed {code}."),
    "g_code_again": ("Kirim kode lagi", "Send the code again"),
    "g_review_title": ("Kirim permohonan", "Send the application"),
    "g_review": (
        "Semua sudah lengkap. Tekan tombol di bawah untuk mengirim permohonan {service} dan mengambil nomor antrean.",
        "Everything is ready. Press the button below to send your {service} application and take a queue number.",
    ),
    "g_submit": ("Kirim dan ambil antrean", "Send and take a number"),
    "g_sending": ("Sedang mengirim…", "Sending…"),
    "g_ticket_title": ("Nomor antrean Anda", "Your queue number"),
    "g_ticket": (
        "Nomor antrean Anda {code}, di Loket {n}. Nomor permohonan {tracking}.",
        "Your queue number is {code}, at counter {n}. Application number {tracking}.",
    ),
    "g_remind_title": ("Jangan lupa", "Remember"),
    "g_remind": ("Saat dipanggil, bawa: {docs}. Terima kasih!", "When you are called, bring: {docs}. Thank you!"),
    "g_remind_none": (
        "Saat dipanggil, datang ke Loket {n}. Terima kasih!",
        "When called, go to counter {n}. Thank you!",
    ),
    "g_done": ("Selesai", "Finish"),
    "g_failed": (
        "Maaf, permohonan belum terkirim. Coba lagi, atau tekan Panggil Petugas.",
        "Sorry, the application was not sent. Try again, or press Call an officer.",
    ),
    "g_retry": ("Coba lagi", "Try again"),
    "g_no_voice": (
        "Suara tidak tersedia di peramban ini; semua petunjuk tampil sebagai tulisan.",
        "Speech is not available in this browser; every instruction is shown as text.",
    ),
    "g_officer_called": (
        "Petugas sedang dipanggil. Mohon tunggu di sini; kata-kata petugas akan tampil dan dibacakan di layar ini.",
        "An officer is being called. Please wait here; the officer's words will appear and be read out on this screen.",
    ),
    "g_officer_title": ("Petugas", "Officer"),
    "g_officer_title_who": ("Petugas {who}", "Officer {who}"),
    "g_officer_connected": (
        "Anda terhubung dengan petugas {who} di Loket {n}. Petugas akan menulis kepada Anda di sini.",
        "You are connected to officer {who} at counter {n}. The officer will write to you here.",
    ),
    "g_officer_connected_plain": (
        "Anda terhubung dengan petugas. Petugas akan menulis kepada Anda di sini.",
        "You are connected to an officer. The officer will write to you here.",
    ),
    "g_officer_closed": ("Percakapan dengan petugas selesai.", "The conversation with the officer has ended."),
    "g_back_to_step": ("Kembali ke langkah tadi", "Back to where I was"),
    "g_check_title": ("Periksa data Anda", "Check your details"),
    "g_check": ("Yang Anda ketik: {items}. Sudah benar?", "What you typed: {items}. Is it correct?"),
    "g_check_send": ("Benar, kirim dan ambil antrean", "Correct, send and take a number"),
    "g_change": ("Ubah {label}", "Change {label}"),
    "g_mismatch_title": ("Perlu bantuan petugas", "An officer can help"),
    "g_mismatch": (
        "Mencoba lagi dengan data yang sama tidak akan berhasil. Petugas bisa memeriksanya bersama Anda, "
        "atau ubah nama atau NIK jika salah ketik.",
        "Trying again with the same details will not work. An officer can check it with you, or change the name "
        "or NIK if it was mistyped.",
    ),
    "g_officer_help": ("Panggil Petugas", "Call an officer"),
    "officer_asked": ("Saya ingin bicara dengan petugas.", "I would like to talk to an officer."),
    "chat_title": ("Tanya Asisten", "Ask the assistant"),
    "chat_intro": (
        "Halo! Saya asisten MPP Banyuwangi. Tanyakan syarat, biaya, atau cara mengurus layanan, "
        "misalnya: “Apa syarat membuat KTP?”",
        "Hello! I am the MPP Banyuwangi assistant. Ask about requirements, fees or how to apply, "
        "for example: “What do I need for an ID card?”",
    ),
    "chat_placeholder": ("Tulis pertanyaan Anda…", "Type your question…"),
    "chat_label": ("Pertanyaan Anda", "Your question"),
    "send": ("Kirim", "Send"),
    "quick_replies": ("Pilihan cepat", "Quick replies"),
    "you": ("Anda", "You"),
    "assistant": ("Asisten", "Assistant"),
    "officer": ("Petugas", "Officer"),
    "system": ("Info", "Info"),
    "source": ("Sumber", "Source"),
    "checked": ("diperiksa", "checked"),
    "thinking": ("Asisten sedang menjawab…", "The assistant is answering…"),
    "assistant_unavailable": (
        "Maaf, asisten belum tersedia saat ini. Anda tetap bisa mengisi formulir, mengambil antrean, "
        "atau menekan “Panggil Petugas”.",
        "Sorry, the assistant is not available right now. You can still fill in a form, take a queue "
        "ticket or press “Call an officer”.",
    ),
    "chat_error": ("Pesan tidak terkirim. Coba lagi.", "The message could not be sent. Please try again."),
    "offline": ("Koneksi terputus, menyambung ulang…", "Connection lost, reconnecting…"),
    "menu": ("Menu layanan", "Service menu"),
    "tab_apply": ("Ajukan", "Apply"),
    "tab_track": ("Lacak", "Track"),
    "tab_queue": ("Antrean", "Queue"),
    "tab_complaint": ("Pengaduan", "Complaints"),
    "apply_title": ("Ajukan Permohonan", "Apply for a service"),
    "identify_title": ("Identitas Anda", "Your identity"),
    "identify_hint": (
        "Masukkan NIK dan nama sesuai KTP; kami kirim kode ke kontak yang terdaftar untuk NIK itu.",
        "Enter your NIK and name as on your ID card; we send a code to the contact registered for that NIK.",
    ),
    "nik": ("NIK (16 angka)", "NIK (16 digits)"),
    "full_name": ("Nama lengkap", "Full name"),
    "identify": ("Kirim kode verifikasi", "Send a verification code"),
    "contact": ("E-mail atau nomor HP (tidak wajib)", "E-mail or mobile number (optional)"),
    "contact_hint": (
        "Hanya dipakai saat NIK Anda belum terdaftar: kode dikirim ke kontak ini. "
        "NIK yang sudah terdaftar selalu menerima kode di kontak terdaftarnya.",
        "Used only when your NIK is not registered yet: the code goes to this contact. "
        "A registered NIK always gets its code at its registered contact.",
    ),
    "code_title": ("Masukkan kode", "Enter the code"),
    "code": ("Kode 6 angka", "6-digit code"),
    "verify": ("Verifikasi", "Verify"),
    "code_again": ("Ubah data / minta kode baru", "Change details / new code"),
    "code_wrong": ("Kode harus 6 angka.", "The code has 6 digits."),
    "identified_as": ("Teridentifikasi sebagai", "Identified as"),
    "my_data": ("Unduh data saya", "Download my data"),
    "service": ("Layanan", "Service"),
    "docs_title": ("Dokumen yang perlu dibawa", "Documents to bring"),
    "docs_hint": (
        "Unggah foto atau PDF tiap dokumen (PDF, JPEG atau PNG, maksimal 5 MB), atau bawa aslinya ke loket.",
        "Upload a photo or PDF of each document (PDF, JPEG or PNG, up to 5 MB), or bring the original.",
    ),
    "doc_upload": ("Unggah atau foto", "Upload or take a photo"),
    "doc_uploading": ("Mengunggah…", "Uploading…"),
    "doc_uploaded": ("Terunggah", "Uploaded"),
    "choose_service": ("— Pilih layanan —", "— Choose a service —"),
    "required": ("wajib", "required"),
    "optional": ("tidak wajib", "optional"),
    "submit_app": ("Kirim Permohonan", "Submit application"),
    "submitting": ("Mengirim…", "Submitting…"),
    "form_invalid": (
        "Ada isian yang belum benar. Periksa kolom yang ditandai.",
        "Some answers are not valid. Check the marked fields.",
    ),
    "attention": ("Mohon periksa", "Please check"),
    "submitted_title": ("Permohonan terkirim", "Application submitted"),
    "tracking_number": ("Nomor pelacakan", "Tracking number"),
    "keep_number": (
        "Simpan nomor ini untuk melacak permohonan Anda.",
        "Keep this number to track your application.",
    ),
    "sla_due": ("Perkiraan selesai", "Expected by"),
    "fee_free": ("Gratis", "Free of charge"),
    "fee_paid": ("Berbayar", "Fee applies"),
    "counter": ("Loket", "Counter"),
    "take_ticket_for": ("Ambil antrean loket {n}", "Take a ticket for counter {n}"),
    "track_title": ("Lacak Permohonan", "Track applications"),
    "no_apps": (
        "Belum ada permohonan. Identifikasi diri untuk melihat permohonan Anda.",
        "No applications yet. Identify yourself to see your applications.",
    ),
    "refresh": ("Muat ulang", "Refresh"),
    "timeline": ("Riwayat", "Timeline"),
    "cancel_app": ("Batalkan permohonan", "Cancel application"),
    "cancel_confirm": ("Yakin? Tekan lagi untuk membatalkan", "Sure? Press again to cancel"),
    "queue_title": ("Nomor Antrean", "Queue ticket"),
    "queue_hint": (
        "Pilih layanan; nomor antrean diambil untuk loketnya.",
        "Choose a service; the ticket is for its counter.",
    ),
    "take_ticket": ("Ambil Nomor Antrean", "Take a ticket"),
    "your_ticket": ("Nomor antrean Anda", "Your ticket"),
    "wait_min": ("Perkiraan menunggu {n} menit", "Estimated wait {n} minutes"),
    "now_serving": ("Sedang dilayani", "Now serving"),
    "waiting": ("menunggu", "waiting"),
    "called_title": ("Giliran Anda!", "It is your turn!"),
    "called_text": ("Nomor {code} dipanggil ke loket {n}.", "Ticket {code} is called to counter {n}."),
    "dismiss": ("Tutup", "Close"),
    "complaint_title": ("Pengaduan", "Complaints"),
    "complaint_hint": (
        "Sampaikan keluhan atau saran. Anda akan mendapat nomor pengaduan untuk memantau tanggapannya.",
        "Tell us about a problem or suggestion. You get a complaint number to follow the response.",
    ),
    "subject": ("Judul", "Subject"),
    "body": ("Isi pengaduan", "Your complaint"),
    "agency": ("Instansi (tidak wajib)", "Agency (optional)"),
    "any_agency": ("— Umum —", "— General —"),
    "send_complaint": ("Kirim Pengaduan", "Send complaint"),
    "my_complaints": ("Pengaduan saya", "My complaints"),
    "no_complaints": ("Belum ada pengaduan.", "No complaints yet."),
    "complaint_sent": ("Pengaduan terkirim dengan nomor {code}.", "Complaint sent with number {code}."),
    "response": ("Tanggapan", "Response"),
    "no_response": ("Belum ada tanggapan.", "No response yet."),
    "survey_title": ("Survei Kepuasan", "Satisfaction survey"),
    "survey_question": ("Bagaimana pelayanan yang Anda terima?", "How was the service you received?"),
    "survey_1": ("Tidak baik", "Poor"),
    "survey_2": ("Kurang baik", "Fair"),
    "survey_3": ("Baik", "Good"),
    "survey_4": ("Sangat baik", "Very good"),
    "survey_comment": ("Saran atau komentar (tidak wajib)", "Suggestions or comments (optional)"),
    "survey_send": ("Kirim Penilaian", "Send rating"),
    "survey_later": ("Nanti saja", "Not now"),
    "survey_thanks": ("Terima kasih atas penilaian Anda!", "Thank you for your rating!"),
    "survey_pick": ("Pilih salah satu nilai.", "Choose a rating."),
    "survey_offer": ("Beri penilaian", "Rate this service"),
    "handoff_pending": (
        "Menunggu petugas… Riwayat percakapan sudah dikirim.",
        "Waiting for an officer… Your conversation has been passed on.",
    ),
    "handoff_accepted": ("Anda terhubung dengan petugas {who}.", "You are connected to officer {who}."),
    "handoff_accepted_plain": ("Anda terhubung dengan petugas.", "You are connected to an officer."),
    "handoff_expired": (
        "Permintaan ke petugas kedaluwarsa. Tekan 'Panggil Petugas' lagi bila masih perlu.",
        "The request for an officer expired. Press 'Call an officer' again if you still need one.",
    ),
    "handoff_closed": ("Percakapan dengan petugas selesai.", "The conversation with the officer has ended."),
    "go_counter": ("Silakan menuju loket {n}.", "Please go to counter {n}."),
    "too_long": (
        "Pesan terlalu panjang (maksimal {n} karakter) dan tidak dikirim. Mohon ringkas pertanyaan Anda.",
        "The message is too long (at most {n} characters) and was not sent. Please shorten your question.",
    ),
    "state_draft": ("Draf", "Draft"),
    "state_submitted": ("Diajukan", "Submitted"),
    "state_verified": ("Diverifikasi", "Verified"),
    "state_in_process": ("Diproses", "In process"),
    "state_needs_revision": ("Perlu perbaikan", "Needs revision"),
    "state_ready": ("Siap diambil", "Ready"),
    "state_completed": ("Selesai", "Completed"),
    "state_rejected": ("Ditolak", "Rejected"),
    "state_cancelled": ("Dibatalkan", "Cancelled"),
    "state_open": ("Terbuka", "Open"),
    "state_in_progress": ("Ditindaklanjuti", "In progress"),
    "state_responded": ("Ditanggapi", "Responded"),
    "state_closed": ("Ditutup", "Closed"),
    "state_waiting": ("Menunggu", "Waiting"),
    "state_called": ("Dipanggil", "Called"),
    "state_served": ("Dilayani", "Served"),
    "state_skipped": ("Dilewati", "Skipped"),
    "update_app": ("Permohonan {code}: {state}", "Application {code}: {state}"),
    "doc_ready": (
        "Dokumen Anda sudah jadi, bisa dicetak ({code}).",
        "Your document is ready and can be printed ({code}).",
    ),
    "doc_number": ("Nomor", "Number"),
    "doc_ready_note": (
        "Dokumen elektronik bertanda tangan (TTE): cetak sendiri di kertas HVS A4.",
        "Electronically signed document: print it yourself on plain A4 paper.",
    ),
    "doc_claim_slip": (
        "Tanda terima: SKCK tercetak diambil di Loket 3 (Polresta) dengan KTP-el asli.",
        "Claim slip: collect the printed SKCK at counter 3 (Police) with your original KTP-el.",
    ),
    "doc_specimen": (
        "SPESIMEN: sistem ini memakai kunci pengembangan; dokumen ini contoh, bukan dokumen resmi.",
        "SPECIMEN: this system uses a development key; the document is an example, not an official one.",
    ),
    "doc_download": ("Unduh PDF", "Download PDF"),
    "doc_print": ("Cetak", "Print"),
    "doc_verify": ("Periksa keaslian", "Check authenticity"),
    "doc_revoked": (
        "Dokumen ini sudah dicabut dan tidak berlaku.",
        "This document has been revoked and is no longer valid.",
    ),
    "g_doc_title": ("Dokumen Anda", "Your document"),
    "g_doc_ready": ("Dokumen Anda sudah jadi, bisa dicetak.", "Your document is ready, you can print it."),
    "g_doc_print": ("Cetak dokumen", "Print the document"),
    "error_generic": ("Terjadi kesalahan. Coba lagi.", "Something went wrong. Please try again."),
    "call_title": ("Panggilan dengan petugas", "Call with the officer"),
    "call_officer_video": ("Video petugas", "The officer's video"),
    "call_voice_only": ("Suara saja: kamera petugas mati.", "Voice only: the officer's camera is off."),
    "call_answer": ("Jawab panggilan", "Answer the call"),
    "call_hangup": ("Tutup panggilan", "End the call"),
    "call_camera_on": ("Nyalakan kamera saya", "Turn my camera on"),
    "call_camera_off": ("Matikan kamera saya", "Turn my camera off"),
    "call_mute": ("Matikan mikrofon", "Mute my microphone"),
    "call_unmute": ("Nyalakan mikrofon", "Unmute my microphone"),
    "call_dock": ("Kecilkan video, lihat formulir", "Shrink the video, see the form"),
    "call_undock": ("Perbesar video", "Enlarge the video"),
    "call_waiting": (
        "Menunggu petugas mengangkat panggilan. Anda juga bisa menulis di obrolan.",
        "Waiting for the officer to pick up. You can also write in the chat.",
    ),
    "call_incoming": ("Petugas menelepon Anda.", "The officer is calling you."),
    "call_connecting": ("Menyambungkan panggilan…", "Connecting the call…"),
    "call_connected": (
        "Tersambung. Kamera Anda mati; petugas hanya mendengar suara Anda.",
        "Connected. Your camera is off; the officer only hears you.",
    ),
    "call_officer_muted": ("Mikrofon petugas sedang dimatikan.", "The officer's microphone is muted."),
    "call_no_microphone": (
        "Mikrofon tidak tersedia: petugas tidak bisa mendengar Anda. Silakan menulis di obrolan.",
        "No microphone: the officer cannot hear you. Please write in the chat.",
    ),
    "call_no_camera": ("Kamera tidak tersedia. Panggilan tetap dengan suara.", "No camera. The call goes on by voice."),
    "call_tap_to_play": ("Ketuk video untuk mendengar petugas.", "Tap the video to hear the officer."),
    "call_ended": ("Panggilan berakhir.", "The call has ended."),
    "call_no_path": (
        "Panggilan tidak dapat tersambung dari jaringan ini. Lanjutkan dengan petugas lewat obrolan.",
        "The call cannot connect from this network. Carry on with the officer in the chat.",
    ),
    "call_unsupported": (
        "Perangkat ini tidak mendukung panggilan video. Lanjutkan dengan petugas lewat obrolan.",
        "This device does not support video calls. Carry on with the officer in the chat.",
    ),
    "call_point": ("Petugas menunjuk kolom: {field}", "The officer points at: {field}"),
    "call_pointer": ("Isi yang ini", "Fill in this one"),
    "noscript": (
        "Halaman ini memerlukan JavaScript. Anda tetap dapat datang langsung ke MPP Banyuwangi.",
        "This page needs JavaScript. You can still visit MPP Banyuwangi in person.",
    ),
}


def strings(lang: str) -> dict[str, str]:
    i = 1 if lang == "en" else 0
    return {k: v[i] for k, v in STRINGS.items()}


def _harden(request: Request, response: Response) -> Response:
    ws = request.app.state.settings.ws_sources  # from settings: never the request's Host header
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self' {ws}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    return response


@router.get("/", response_class=HTMLResponse)
def citizen_page(request: Request) -> Response:
    lang = "en" if request.headers.get("accept-language", "").lower().startswith("en") else "id"
    i18n = {"id": strings("id"), "en": strings("en")}
    response = TEMPLATES.TemplateResponse(request, "citizen/index.html", {"lang": lang, "t": i18n[lang], "i18n": i18n})
    response.headers["Cache-Control"] = "no-cache"
    return _harden(request, response)


@router.get("/static/{name}")
def citizen_static(name: str) -> Response:
    if name not in STATIC:
        raise not_found("Berkas", "File")
    return FileResponse(HERE / "static" / name, media_type=STATIC[name], headers={"Cache-Control": "no-cache"})
