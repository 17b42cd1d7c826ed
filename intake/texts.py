"""Message catalogues: every sentence the bot says, in Indonesian and English.

Admins override any entry per language in configuration (`[texts.id] greeting = "..."`).
Placeholders use `str.format` names; an override that drops a placeholder is allowed, one that
adds an unknown placeholder is reported by `Texts.problems()`.

Variants: a channel may ask for a variant of the catalogue (`ChannelCapabilities.text_variant`).
`VARIANTS["sms"]` holds short forms for SMS, where every message is paid per 160 characters:
no emoji, GSM-7 characters only, and every prompt within two segments once the channel has added
its numbered choices. A key without a short form falls back to the usual text. Admins override
a variant's entry as `"sms.<key>"` (`[texts.id] "sms.greeting" = "..."`); an override of the
plain key does not change the SMS form.

Officers' texts (cards, buttons, answers to commands, reminders) are `DESK_CATALOGUE` in
intake/desk_texts.py, read with `Texts.desk(key, lang)` in the service's default language. They
are overridden like the rest, under their key with `desk_` in front
(`[texts.id] desk_card_category = "Jenis: {value}"`); they have no SMS form. The public
follow-up page's texts are `PUBLIC_CATALOGUE` in intake/public_texts.py, read with
`Texts.public(key, lang)` and overridden as `public_<key>`.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

from intake.desk_texts import DESK_CATALOGUE
from intake.open311_texts import OPEN311_CATALOGUE
from intake.public_texts import PUBLIC_CATALOGUE

LANGUAGES = ("id", "en")
DESK_PREFIX = "desk_"  # an officer-desk text's key in overrides: "desk_" + its DESK_CATALOGUE key
PUBLIC_PREFIX = "public_"  # a public page text's key in overrides: "public_" + its key

CATALOGUE: dict[str, dict[str, str]] = {
    "greeting": {
        "id": (
            "Halo! Ini layanan pengaduan warga {city}. Laporan Anda diteruskan ke dinas yang "
            "berwenang dan Anda mendapat kabar perkembangannya di sini.\n\n"
            "Privasi: kami menyimpan isi laporan, lokasi, foto, dan kontak Anda hanya untuk "
            "menindaklanjuti laporan ini (UU 27/2022 tentang Pelindungan Data Pribadi). "
            "Anda bisa memilih laporan anonim atau rahasia nanti.\n\n"
            "Apakah Anda setuju?"
        ),
        "en": (
            "Hello! This is the public complaint service of {city}. Your report goes to the "
            "responsible agency and you will hear about its progress here.\n\n"
            "Privacy: we keep your report, location, photos and contact only to follow up on "
            "this report (Indonesian Personal Data Protection Law 27/2022). You can choose to "
            "report anonymously or confidentially later.\n\n"
            "Do you agree?"
        ),
    },
    "consent_declined": {
        "id": ("Baik, kami tidak menyimpan apa pun. Jika berubah pikiran, ketik LAPOR kapan saja."),
        "en": "All right, we keep nothing. If you change your mind, type REPORT at any time.",
    },
    "ask_description": {
        "id": (
            "Ceritakan masalahnya: apa yang terjadi, sejak kapan, dan dampaknya. "
            "Contoh: Jalan di depan SDN 3 berlubang besar sejak seminggu, sudah dua motor jatuh."
        ),
        "en": (
            "Tell us the problem: what happened, since when, and how it affects people. "
            "Example: Big pothole in front of SDN 3 for a week, two motorbikes have fallen."
        ),
    },
    "description_too_short": {
        "id": "Mohon jelaskan masalahnya dengan beberapa kata, agar petugas bisa memahaminya.",
        "en": "Please describe the problem in a few words so the officers can understand it.",
    },
    "description_truncated": {
        "id": "Keterangan Anda panjang sekali; kami simpan {limit} karakter pertama.",
        "en": "Your description is very long; we kept the first {limit} characters.",
    },
    "photo_before_description": {
        "id": "Foto diterima. Sekarang ceritakan masalahnya dengan kata-kata.",
        "en": "Photo received. Now please describe the problem in words.",
    },
    "location_before_description": {
        "id": "Lokasi diterima. Sekarang ceritakan masalahnya dengan kata-kata.",
        "en": "Location received. Now please describe the problem in words.",
    },
    "voice_not_supported": {
        "id": (
            "Pesan suara sudah kami terima, tetapi petugas memerlukan tulisan. "
            "Mohon ketik singkat masalahnya."
        ),
        "en": (
            "We received your voice note, but officers need text. "
            "Please type a short description of the problem."
        ),
    },
    "confirm_category": {
        "id": "Sepertinya laporan ini tentang: {category}. Benar?",
        "en": "This report seems to be about: {category}. Is that right?",
    },
    "choose_category": {
        "id": "Pilih kategori yang paling sesuai:",
        "en": "Choose the category that fits best:",
    },
    "ask_location": {
        "id": (
            "Di mana lokasinya? Kirim lokasi (tombol lampiran > Lokasi) atau ketik nama "
            "kelurahan dan alamatnya, mis. Jl. Pahlawan 12, Kel. Kartoharjo."
        ),
        "en": (
            "Where is it? Share the location (attachment button > Location) or type the "
            "kelurahan and address, e.g. Jl. Pahlawan 12, Kel. Kartoharjo."
        ),
    },
    "ask_location_text": {
        "id": (
            "Di mana lokasinya? Ketik nama kelurahan dan alamatnya, "
            "mis. Jl. Pahlawan 12, Kartoharjo."
        ),
        "en": "Where is it? Type the kelurahan and address, e.g. Jl. Pahlawan 12, Kartoharjo.",
    },
    "location_outside": {
        "id": (
            "Titik itu berada di luar wilayah {city}, jadi bukan wewenang kami: laporkan ke "
            "pemerintah daerah setempat atau lewat lapor.go.id. Jika masalahnya ada di {city}, "
            "kirim lokasi yang tepat atau ketik nama kelurahannya."
        ),
        "en": (
            "That point is outside {city}, so it is not ours to handle: report it to the local "
            "government there or at lapor.go.id. If the problem is in {city}, share the exact "
            "location or type the kelurahan name."
        ),
    },
    "location_unknown": {
        "id": "Kami belum mengenali tempat itu. Di kecamatan mana lokasinya?",
        "en": "We could not recognise that place. Which kecamatan is it in?",
    },
    "choose_kelurahan": {
        "id": "Di kelurahan mana?",
        "en": "Which kelurahan?",
    },
    "location_found": {
        "id": "Lokasi: Kel. {kelurahan}, Kec. {kecamatan}.",
        "en": "Location: Kel. {kelurahan}, Kec. {kecamatan}.",
    },
    "ask_photos": {
        "id": (
            "Kirim foto kondisinya (boleh beberapa) agar petugas cepat paham. "
            "Jika sudah, pilih Selesai. Tidak ada foto? Pilih Lewati."
        ),
        "en": (
            "Send photos of the problem (several are fine) so officers understand quickly. "
            "When done, choose Done. No photos? Choose Skip."
        ),
    },
    "photo_received": {
        "id": "Foto diterima ({count}). Kirim lagi atau pilih Selesai.",
        "en": "Photo received ({count}). Send more or choose Done.",
    },
    "photo_received_privacy": {
        "id": "Foto diterima. Kirim foto lain, atau pilih privasi laporan untuk lanjut:",
        "en": "Photo received. Send another, or choose the report's privacy to go on:",
    },
    "album_received": {
        "id": "Foto diterima. Kirim lagi atau pilih Selesai.",
        "en": "Photos received. Send more or choose Done.",
    },
    "choose_hint": {
        "id": "Pilih salah satu pilihan di bawah, atau ketik nomornya.",
        "en": "Choose one of the options below, or type its number.",
    },
    "consent_hint": {
        "id": "Data Anda hanya dipakai untuk menindaklanjuti laporan ini. Apakah Anda setuju?",
        "en": "Your data is used only to follow up this report. Do you agree?",
    },
    "held_before_consent": {
        "id": "Sudah kami terima dan simpan untuk laporan Anda. Untuk lanjut, pilih Setuju.",
        "en": "Received and kept for your report. To go on, choose I agree.",
    },
    "description_more": {
        "id": (
            "Apa masalahnya dengan {words}? Ceritakan sedikit lagi, mis. rusak, mati, "
            "menumpuk, sejak kapan."
        ),
        "en": (
            "What is wrong with {words}? Tell us a little more, e.g. broken, not working, "
            "piling up, since when."
        ),
    },
    "voice_received": {
        "id": "Pesan suara diterima dan dilampirkan untuk petugas.",
        "en": "Voice note received and attached for the officers.",
    },
    "voice_as_description": {
        "id": (
            "Pesan suara diterima; petugas akan mendengarkannya sebagai keterangan laporan. "
            "Boleh tambahkan satu kalimat tertulis kapan saja."
        ),
        "en": (
            "Voice note received; officers will listen to it as the report's description. "
            "You may add a written sentence at any time."
        ),
    },
    "voice_description": {"id": "(pesan suara)", "en": "(voice note)"},
    # The words a campaign's WhatsApp link types for the citizen (before its tag) when the
    # campaign names none ([[campaigns]] text); they never become a report's description.
    "campaign_prefill": {
        "id": "Halo, saya ingin menyampaikan laporan.",
        "en": "Hello, I would like to report a problem.",
    },
    "privacy_hint": {
        "id": "Ingin anonim atau rahasia? Ketik ANONIM atau RAHASIA.",
        "en": "Want to stay anonymous or confidential? Type ANONYMOUS or CONFIDENTIAL.",
    },
    "welcome": {
        "id": "Sama-sama! Ketik LAPOR untuk laporan baru, atau CEK <nomor tiket> untuk statusnya.",
        "en": "You are welcome! Type REPORT for a new report, or CHECK <ticket> for its status.",
    },
    "photos_limit": {
        "id": "Cukup {limit} foto per laporan. Kita lanjut.",
        "en": "{limit} photos per report is the limit. Let's continue.",
    },
    "ask_privacy": {
        "id": (
            "Pilih privasi laporan:\n"
            "- Biasa: identitas terlihat oleh petugas.\n"
            "- Anonim: petugas dan publik tidak tahu siapa pelapornya.\n"
            "- Rahasia: isi laporan tidak pernah dipublikasikan.\n"
            "- Anonim + rahasia: keduanya."
        ),
        "en": (
            "Choose the report's privacy:\n"
            "- Normal: officers can see who reported.\n"
            "- Anonymous: officers and the public never see who reported.\n"
            "- Confidential: the report's content is never made public.\n"
            "- Anonymous + confidential: both."
        ),
    },
    "summary": {
        "id": (
            "Periksa laporan Anda:\n"
            "Masalah: {description}\n"
            "Kategori: {category}\n"
            "Lokasi: {location}\n"
            "Foto: {photos}\n"
            "Privasi: {privacy}\n\n"
            "Kirim laporan ini?"
        ),
        "en": (
            "Check your report:\n"
            "Problem: {description}\n"
            "Category: {category}\n"
            "Location: {location}\n"
            "Photos: {photos}\n"
            "Privacy: {privacy}\n\n"
            "Send this report?"
        ),
    },
    "ask_edit": {
        "id": "Bagian mana yang ingin diubah?",
        "en": "Which part do you want to change?",
    },
    "filed": {
        "id": (
            "Laporan terkirim. Nomor tiket Anda: {ticket}\n"
            "Laporan akan diverifikasi dalam {verify_days} hari kerja lalu diteruskan ke {agency}. "
            "Kabar perkembangan dikirim di sini. Cek status kapan saja: CEK {ticket}\n"
            "Kode laporan Anda: {code} (simpan, jangan dibagikan). Dari nomor atau akun lain: "
            "CEK {ticket} {code}"
        ),
        "en": (
            "Report sent. Your ticket number: {ticket}\n"
            "It will be verified within {verify_days} working days and passed to {agency}. "
            "Updates arrive here. Check the status at any time: CHECK {ticket}\n"
            "Your report code: {code} (keep it, do not share it). From another number or "
            "account: CHECK {ticket} {code}"
        ),
    },
    "cancelled": {
        "id": "Laporan dibatalkan, tidak ada yang dikirim. Ketik LAPOR untuk memulai lagi.",
        "en": "Report cancelled, nothing was sent. Type REPORT to start again.",
    },
    "nothing_to_cancel": {
        "id": "Tidak ada laporan yang sedang dibuat. Ketik LAPOR untuk memulai.",
        "en": "There is no report in progress. Type REPORT to start one.",
    },
    "expired": {
        "id": "Percakapan sebelumnya sudah lama tidak dilanjutkan dan kami tutup. Kita mulai lagi.",
        "en": "Your earlier conversation was idle too long and has been closed. Let's start again.",
    },
    "help": {
        "id": (
            "Bantuan:\n"
            "LAPOR - buat laporan baru\n"
            "CEK <nomor tiket> - lihat status laporan\n"
            "TAMBAH <nomor tiket> - tambah keterangan/foto laporan\n"
            "BATAL - batalkan laporan yang sedang dibuat\n"
            "ULANG - mulai dari awal\n"
            "ENGLISH - switch to English"
        ),
        "en": (
            "Help:\n"
            "REPORT - file a new report\n"
            "CHECK <ticket number> - see a report's status\n"
            "ADD <ticket number> - add details or photos to a report\n"
            "CANCEL - cancel the report in progress\n"
            "RESTART - start over\n"
            "INDONESIA - ganti ke Bahasa Indonesia"
        ),
    },
    "idle": {
        "id": "Ketik LAPOR untuk laporan baru, atau CEK <nomor tiket> untuk melihat status.",
        "en": "Type REPORT to file a new report, or CHECK <ticket number> to see a status.",
    },
    "language_set": {
        "id": "Bahasa: Indonesia.",
        "en": "Language: English.",
    },
    "unsupported": {
        "id": "Maaf, kami belum bisa membaca {kind}. Mohon kirim teks, foto, atau lokasi.",
        "en": "Sorry, we cannot read {kind} yet. Please send text, a photo or a location.",
    },
    "not_understood": {
        "id": "Maaf, jawaban itu belum kami pahami. Silakan pilih salah satu:",
        "en": "Sorry, we did not understand that answer. Please choose one:",
    },
    "stale_choice": {
        "id": "Pilihan itu sudah tidak berlaku. Pertanyaan saat ini:",
        "en": "That choice is no longer valid. The current question:",
    },
    "check_usage": {
        "id": "Ketik CEK diikuti nomor tiket, mis. CEK {example}.",
        "en": "Type CHECK followed by the ticket number, e.g. CHECK {example}.",
    },
    # The same answer whether the ticket does not exist or is someone else's (issue 14).
    "check_not_found": {
        "id": (
            "Tiket {ticket} tidak ditemukan untuk akun ini. Periksa nomornya; dari nomor atau "
            "akun lain, sertakan kode laporan: CEK {ticket} <kode>"
        ),
        "en": (
            "Ticket {ticket} was not found for this account. Check the number; from another "
            "number or account, add the report code: CHECK {ticket} <code>"
        ),
    },
    "lookups_limited": {
        "id": "Terlalu banyak pengecekan tiket dari akun ini. Coba lagi dalam {minutes} menit.",
        "en": "Too many ticket lookups from this account. Try again in {minutes} minutes.",
    },
    "check_status": {
        "id": "Tiket {ticket} ({category}): {status}.",
        "en": "Ticket {ticket} ({category}): {status}.",
    },
    "check_timeline_header": {"id": "Riwayat:", "en": "History:"},
    "check_confidential": {
        "id": "Tiket {ticket} bersifat rahasia; statusnya hanya dapat dilihat oleh pelapor.",
        "en": "Ticket {ticket} is confidential; only its reporter can see the status.",
    },
    # following up a filed report (rating, reopening, additions, duplicates; issue 6)
    "not_fixed": {"id": "Belum beres", "en": "Not fixed"},
    "rated": {
        "id": "Terima kasih! Nilai {score}/5 untuk laporan {ticket} sudah dicatat.",
        "en": "Thank you! Your rating of {score}/5 for report {ticket} is recorded.",
    },
    "rate_nothing": {
        "id": "Tidak ada laporan selesai yang menunggu penilaian Anda.",
        "en": "There is no resolved report of yours waiting for a rating.",
    },
    "followup_not_resolved": {
        "id": "Laporan {ticket} belum selesai, jadi belum bisa dinilai.",
        "en": "Report {ticket} is not resolved yet, so it cannot be rated.",
    },
    "followup_closed": {
        "id": "Laporan {ticket} sudah ditutup. Jika masalahnya muncul lagi, ketik LAPOR.",
        "en": "Report {ticket} is closed. If the problem comes back, type REPORT.",
    },
    "reopened": {
        "id": "Laporan {ticket} dibuka kembali dan diteruskan lagi ke petugas.",
        "en": "Report {ticket} is reopened and back with the officers.",
    },
    "add_info_usage": {
        "id": "Ketik TAMBAH diikuti nomor tiket, mis. TAMBAH {example}.",
        "en": "Type ADD followed by the ticket number, e.g. ADD {example}.",
    },
    "add_info_ask": {
        "id": "Kirim keterangan atau foto tambahan untuk {ticket}. Jika sudah, pilih Selesai.",
        "en": "Send more details or photos for {ticket}. When done, choose Done.",
    },
    "add_info_received": {
        "id": "Diteruskan ke petugas ({ticket}). Kirim lagi atau pilih Selesai.",
        "en": "Passed to the officers ({ticket}). Send more or choose Done.",
    },
    "add_info_sent": {
        "id": "Tambahan untuk {ticket} sudah diteruskan ke petugas.",
        "en": "Your addition to {ticket} was passed to the officers.",
    },
    "add_info_done": {
        "id": "Terima kasih. Tambahan untuk {ticket} sudah diteruskan ke petugas.",
        "en": "Thank you. Your additions to {ticket} were passed to the officers.",
    },
    "add_info_not_found": {
        "id": (
            "Tiket {ticket} tidak ditemukan untuk akun ini. Periksa nomornya; dari nomor atau "
            "akun lain, sertakan kode laporan: TAMBAH {ticket} <kode>"
        ),
        "en": (
            "Ticket {ticket} was not found for this account. Check the number; from another "
            "number or account, add the report code: ADD {ticket} <code>"
        ),
    },
    "add_info_closed": {
        "id": "Laporan {ticket} sudah selesai atau ditutup; tambahan tidak bisa dikirim.",
        "en": "Report {ticket} is resolved or closed; it takes no more additions.",
    },
    "duplicate_offer": {
        "id": (
            "Laporan serupa sedang ditangani:\n{existing}\n\n"
            "Dukung laporan itu (Anda ikut menerima kabarnya) atau tetap kirim laporan baru?"
        ),
        "en": (
            "A similar report is already being handled:\n{existing}\n\n"
            "Support it (you will receive its updates) or send your report anyway?"
        ),
    },
    "duplicate_summary": {
        "id": "{ticket} - {category}, Kel. {kelurahan} ({status}): {description}",
        "en": "{ticket} - {category}, Kel. {kelurahan} ({status}): {description}",
    },
    "support_existing": {"id": "Dukung {ticket}", "en": "Support {ticket}"},
    "file_anyway": {"id": "Tetap kirim", "en": "Send anyway"},
    "supported": {
        "id": "Terima kasih, dukungan Anda untuk {ticket} tercatat. Kabarnya dikirim ke sini.",
        "en": "Thank you, your support for {ticket} is recorded. Updates will come here.",
    },
    "support_unavailable": {
        "id": "Laporan {ticket} sudah tidak terbuka. Ketik LAPOR untuk membuat laporan baru.",
        "en": "Report {ticket} is no longer open. Type REPORT to file a new one.",
    },
    # status notifications (sent without the citizen asking; Reply.notice is set)
    "notice_status": {
        "id": "Kabar laporan {ticket}: {status}.",
        "en": "Update on report {ticket}: {status}.",
    },
    "notice_note": {"id": "Catatan petugas: {note}", "en": "Officer's note: {note}"},
    "notice_rate": {
        "id": "Bagaimana hasilnya? Beri nilai 1-5, atau balas BELUM BERES jika belum selesai.",
        "en": "How was it? Rate 1-5, or reply NOT FIXED if the problem remains.",
    },
    "notice_reassigned": {
        "id": "Laporan {ticket} dialihkan ke {agency}.",
        "en": "Report {ticket} was passed to {agency}.",
    },
    "notice_duplicate": {
        "id": "Kabar selanjutnya mengikuti laporan {original}.",
        "en": "Further updates follow report {original}.",
    },
    "notice_reply": {
        "id": "Pesan petugas tentang laporan {ticket}:\n{text}",
        "en": "Message from the officers about report {ticket}:\n{text}",
    },
    "notice_closed": {
        "id": "Laporan {ticket} ditutup. Terima kasih telah melapor.",
        "en": "Report {ticket} is closed. Thank you for reporting.",
    },
    # choice labels
    "yes": {"id": "Ya", "en": "Yes"},
    "no": {"id": "Tidak", "en": "No"},
    "agree": {"id": "Setuju", "en": "I agree"},
    "disagree": {"id": "Tidak setuju", "en": "I do not agree"},
    "choose_other": {"id": "Pilih lain", "en": "Choose another"},
    "more": {"id": "Berikutnya >>", "en": "More >>"},
    "done": {"id": "Selesai", "en": "Done"},
    "skip": {"id": "Lewati", "en": "Skip"},
    "send": {"id": "Kirim", "en": "Send"},
    "new_report": {"id": "Laporan baru", "en": "New report"},
    "edit": {"id": "Ubah", "en": "Edit"},
    "cancel": {"id": "Batal", "en": "Cancel"},
    "none_of_these": {"id": "Tidak ada di sini", "en": "None of these"},
    "privacy_normal": {"id": "Biasa", "en": "Normal"},
    "privacy_anonymous": {"id": "Anonim", "en": "Anonymous"},
    "privacy_confidential": {"id": "Rahasia", "en": "Confidential"},
    "privacy_both": {"id": "Anonim + rahasia", "en": "Anonymous + confidential"},
    "field_description": {"id": "Keterangan", "en": "Description"},
    "field_category": {"id": "Kategori", "en": "Category"},
    "field_location": {"id": "Lokasi", "en": "Location"},
    "field_photos": {"id": "Foto", "en": "Photos"},
    "field_privacy": {"id": "Privasi", "en": "Privacy"},
    "no_photos": {"id": "tidak ada", "en": "none"},
    "not_set": {"id": "-", "en": "-"},
    # statuses as citizens see them
    "status_received": {
        "id": "Diterima, menunggu verifikasi",
        "en": "Received, awaiting verification",
    },
    "status_verified": {
        "id": "Terverifikasi, diteruskan ke {agency}",
        "en": "Verified, passed to {agency}",
    },
    "status_in_progress": {"id": "Sedang ditindaklanjuti", "en": "Being acted on"},
    "status_resolved": {"id": "Selesai", "en": "Resolved"},
    "status_rejected": {"id": "Ditolak: {reason}", "en": "Rejected: {reason}"},
    # the web chat page (bot/ingress/web.py, channels/web/); GSM-7 like everything here
    "web_title": {"id": "Lapor {city}", "en": "Report to {city}"},
    "web_intro": {
        "id": (
            "Sampaikan keluhan layanan publik di {city}: tulis apa yang terjadi, bagikan "
            "lokasi, kirim foto. Tanpa aplikasi, tanpa akun."
        ),
        "en": (
            "Tell {city} about a public-service problem: write what happened, share the "
            "location, send a photo. No app, no account."
        ),
    },
    "web_placeholder": {"id": "Tulis pesan...", "en": "Type a message..."},
    "web_send": {"id": "Kirim", "en": "Send"},
    "web_share_location": {"id": "Bagikan lokasi saya", "en": "Share my location"},
    "web_send_photo": {"id": "Kirim foto", "en": "Send a photo"},
    "web_my_location": {"id": "Lokasi saya", "en": "My location"},
    "web_my_photo": {"id": "Foto", "en": "Photo"},
    "web_other_language": {"id": "English", "en": "Bahasa Indonesia"},
    "web_location_failed": {
        "id": (
            "Lokasi tidak bisa dibaca. Izinkan akses lokasi di browser, atau ketik nama "
            "kelurahan atau tempat terdekat."
        ),
        "en": (
            "Your location could not be read. Allow location access in the browser, or type "
            "the kelurahan or a nearby place."
        ),
    },
    "web_send_failed": {
        "id": "Pesan belum terkirim. Periksa sambungan, lalu coba lagi.",
        "en": "Not sent. Check your connection, then try again.",
    },
    "web_session_ended": {
        "id": "Sesi ini sudah berakhir. Muat ulang halaman untuk mulai lagi.",
        "en": "This session has ended. Reload the page to start again.",
    },
    "web_photo_too_large": {
        "id": "Foto terlalu besar: paling besar {mb} MB.",
        "en": "The photo is too large: {mb} MB at most.",
    },
    "web_photo_type": {
        "id": "Hanya foto JPEG, PNG, WebP atau GIF yang bisa dikirim.",
        "en": "Only JPEG, PNG, WebP or GIF photos can be sent.",
    },
    "web_photo_unreadable": {
        "id": "Foto ini tidak bisa dibaca. Coba foto lain.",
        "en": "This photo cannot be read. Please try another one.",
    },
    "web_too_many": {
        "id": "Terlalu banyak dalam waktu singkat. Mohon tunggu sebentar.",
        "en": "Too many in a short time. Please wait a moment.",
    },
    "web_needs_javascript": {
        "id": "Halaman ini memerlukan JavaScript.",
        "en": "This page needs JavaScript.",
    },
    # sent once when a sender goes over the rate limit (bot/scaling/cluster.py);
    # GSM-7, one SMS segment
    "rate_limited": {
        "id": (
            "Pesan Anda terlalu banyak dalam waktu singkat. Mohon tunggu sebentar, lalu kirim "
            "lagi pesan yang belum kami jawab."
        ),
        "en": (
            "You sent too many messages in a short time. Please wait a moment, then send again "
            "anything we did not answer."
        ),
    },
}


# Short forms for SMS (see the module docstring). Keep them GSM-7: no emoji, no typographic
# quotes, dashes or ellipses; tests/test_sms_texts.py renders every prompt and counts segments.
SMS_CATALOGUE: dict[str, dict[str, str]] = {
    "choose_hint": {"id": "Balas dengan angka pilihan.", "en": "Reply with an option number."},
    "consent_hint": {
        "id": "Data Anda hanya dipakai untuk menindaklanjuti laporan ini. Setuju?",
        "en": "Your data is used only to follow up this report. Agree?",
    },
    "greeting": {
        "id": (
            "Layanan pengaduan warga {city}. Laporan Anda diteruskan ke dinas terkait dan "
            "kabarnya dikirim lewat SMS ini. Data Anda hanya dipakai untuk menindaklanjuti "
            "laporan (UU 27/2022 PDP). Bisa anonim. Setuju?"
        ),
        "en": (
            "Public complaint service of {city}. Your report goes to the responsible agency "
            "and updates come by SMS. Your data is used only to follow it up (Law 27/2022). "
            "You may stay anonymous. Agree?"
        ),
    },
    "ask_description": {
        "id": (
            "Ceritakan masalahnya: apa, sejak kapan, dampaknya. Contoh: Jalan depan SDN 3 "
            "berlubang sejak seminggu, dua motor jatuh."
        ),
        "en": (
            "Describe the problem: what, since when, the impact. Example: Pothole in front of "
            "SDN 3 for a week, two motorbikes fell."
        ),
    },
    "choose_category": {"id": "Pilih kategori:", "en": "Choose a category:"},
    "ask_privacy": {
        "id": (
            "Privasi laporan? Anonim: petugas tidak tahu siapa pelapornya. "
            "Rahasia: isi laporan tidak dipublikasikan."
        ),
        "en": (
            "Report privacy? Anonymous: officers never see who reported. "
            "Confidential: the report is never made public."
        ),
    },
    "summary": {
        "id": (
            "Periksa laporan:\n{description:.60}\nKategori: {category}\n"
            "Lokasi: {area}\nPrivasi: {privacy}\nKirim?"
        ),
        "en": (
            "Check your report:\n{description:.60}\nCategory: {category}\n"
            "Location: {area}\nPrivacy: {privacy}\nSend it?"
        ),
    },
    "filed": {
        "id": (
            "Laporan terkirim. Tiket: {ticket}. Diverifikasi dalam {verify_days} hari kerja lalu "
            "diteruskan ke {agency}. Kabarnya lewat SMS. Cek: CEK {ticket}. Kode laporan "
            "(rahasiakan): {code}. Foto lewat WhatsApp/Telegram: TAMBAH {ticket} {code}"
        ),
        "en": (
            "Report sent. Ticket: {ticket}. Verified within {verify_days} working days, then "
            "passed to {agency}. Updates by SMS. Status: CHECK {ticket}. Report code (keep it "
            "private): {code}. Photos over WhatsApp/Telegram: ADD {ticket} {code}"
        ),
    },
    "unsupported": {
        "id": "Maaf, kami hanya bisa membaca teks. Mohon ketik pesan Anda.",
        "en": "Sorry, we can only read text. Please type your message.",
    },
    "not_understood": {
        "id": "Maaf, jawaban itu belum kami pahami.",
        "en": "Sorry, we did not understand that.",
    },
    "location_outside": {
        "id": (
            "Titik itu di luar {city}; laporkan ke pemda setempat atau lapor.go.id. "
            "Jika di {city}, ketik nama kelurahannya."
        ),
        "en": (
            "That point is outside {city}; report it to the local government or lapor.go.id. "
            "If it is in {city}, type the kelurahan."
        ),
    },
    "duplicate_offer": {
        "id": (
            "Ada laporan serupa:\n{existing}\n"
            "Dukung laporan itu (ikut dapat kabarnya) atau tetap kirim yang baru?"
        ),
        "en": (
            "A similar report exists:\n{existing}\n"
            "Support it (and get its updates) or send yours anyway?"
        ),
    },
    "duplicate_summary": {
        "id": "{ticket}, Kel. {kelurahan}: {description:.70}",
        "en": "{ticket}, Kel. {kelurahan}: {description:.70}",
    },
    "help": {
        "id": (
            "Bantuan:\nLAPOR <isi> - laporan baru\nCEK <tiket> - status laporan\n"
            "TAMBAH <tiket> - tambah keterangan\nBATAL - batalkan laporan\n"
            "ULANG - mulai dari awal\nENGLISH - switch to English"
        ),
        "en": (
            "Help:\nREPORT <text> - new report\nCHECK <ticket> - report status\n"
            "ADD <ticket> - add details\nCANCEL - cancel the report\n"
            "RESTART - start over\nINDONESIA - ganti ke Bahasa Indonesia"
        ),
    },
    "add_info_ask": {
        "id": "Ketik keterangan tambahan untuk {ticket}.",
        "en": "Type more details for {ticket}.",
    },
    "add_info_received": {
        "id": "Diteruskan ke petugas ({ticket}). Kirim lagi, atau balas 1 jika selesai.",
        "en": "Passed to the officers ({ticket}). Send more, or reply 1 when done.",
    },
}

VARIANTS: dict[str, dict[str, dict[str, str]]] = {"sms": SMS_CATALOGUE}

# Every message under the key an override names: the citizens' texts and the officers'.
MESSAGES: dict[str, dict[str, str]] = {
    **CATALOGUE,
    **OPEN311_CATALOGUE,  # what Open311 clients read (intake/open311_texts.py)
    **{DESK_PREFIX + key: entry for key, entry in DESK_CATALOGUE.items()},
    **{PUBLIC_PREFIX + key: entry for key, entry in PUBLIC_CATALOGUE.items()},
}


class Texts:
    """The catalogue with an admin's overrides applied."""

    def __init__(self, overrides: Mapping[str, Mapping[str, str]] | None = None) -> None:
        self._overrides = {lang: dict(entries) for lang, entries in (overrides or {}).items()}

    def get(self, key: str, lang: str, *, variant: str = "", **values: object) -> str:
        """The text for `key` in `lang`, in the channel's `variant` when it has one."""
        return _filled(self._template(key, lang, variant), values)

    def desk(self, key: str, lang: str, **values: object) -> str:
        """The officers' text `key` of DESK_CATALOGUE (overridden as `desk_<key>`)."""
        return _filled(self._template(DESK_PREFIX + key, lang, ""), values)

    def public(self, key: str, lang: str, **values: object) -> str:
        """The public page's text `key` of PUBLIC_CATALOGUE (overridden as `public_<key>`)."""
        return _filled(self._template(PUBLIC_PREFIX + key, lang, ""), values)

    def _template(self, key: str, lang: str, variant: str) -> str:
        lang = lang if lang in LANGUAGES else LANGUAGES[0]
        overrides = self._overrides.get(lang, {})
        template = ""
        if variant:
            short_form = VARIANTS.get(variant, {}).get(key, {}).get(lang, "")
            template = overrides.get(f"{variant}.{key}") or short_form
        return template or overrides.get(key) or MESSAGES[key][lang]

    def problems(self) -> list[tuple[str, str]]:
        """(key path, message) for overrides that name unknown entries or placeholders."""
        found: list[tuple[str, str]] = []
        for lang, entries in self._overrides.items():
            if lang not in LANGUAGES:
                found.append((f"texts.{lang}", f"unknown language (use {', '.join(LANGUAGES)})"))
                continue
            for key, template in entries.items():
                path = f"texts.{lang}.{key}"
                variant, dot, base = key.partition(".")
                if not dot:
                    variant, base = "", key
                if variant and variant not in VARIANTS:
                    known = ", ".join(VARIANTS)
                    found.append((path, f"unknown variant {variant!r} (known: {known})"))
                    continue
                if base not in MESSAGES:
                    found.append((path, "no such message in the catalogue"))
                    continue
                if variant and base.startswith(DESK_PREFIX):
                    found.append((path, f"officer-desk texts have no {variant!r} form"))
                    continue
                if variant and base.startswith(PUBLIC_PREFIX):
                    found.append((path, f"public page texts have no {variant!r} form"))
                    continue
                allowed = _placeholders(MESSAGES[base][lang])
                if variant and base in VARIANTS[variant]:
                    allowed |= _placeholders(VARIANTS[variant][base][lang])
                try:
                    used = _placeholders(template)
                except ValueError as exc:
                    found.append((path, f"malformed template: {exc}"))
                    continue
                unknown = used - allowed
                if unknown:
                    found.append((path, f"unknown placeholder(s): {', '.join(sorted(unknown))}"))
        return found


def _filled(template: str, values: Mapping[str, object]) -> str:
    return template.format_map(_Defaulting(values)) if values else template


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


class _Defaulting(dict[str, object]):
    """Leaves an unknown placeholder visible instead of raising."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"
