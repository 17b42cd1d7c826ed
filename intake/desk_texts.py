"""What officers read in their Telegram group: card lines, buttons, answers, reminders.

The officer desk speaks the service's default language. These texts are part of the same
catalogue as the citizens' (intake/texts.py): `Texts.desk(key, lang)` reads one, and an admin
overrides one as `desk_<key>` (`[texts.id] desk_card_category = "Jenis: {value}"`).
"""

from __future__ import annotations

DESK_CATALOGUE: dict[str, dict[str, str]] = {
    # short status names for officers
    "st_received": {"id": "Diterima", "en": "Received"},
    "st_verified": {"id": "Terverifikasi", "en": "Verified"},
    "st_in_progress": {"id": "Ditindaklanjuti", "en": "In progress"},
    "st_resolved": {"id": "Selesai", "en": "Resolved"},
    "st_rejected": {"id": "Ditolak", "en": "Rejected"},
    # card
    "card_category": {"id": "Kategori: {value}", "en": "Category: {value}"},
    "card_agency": {"id": "Dinas: {value}", "en": "Agency: {value}"},
    "card_location": {"id": "Lokasi: {value}", "en": "Location: {value}"},
    "card_time": {"id": "Masuk: {value}", "en": "Filed: {value}"},
    "card_channel": {"id": "Kanal: {value}", "en": "Channel: {value}"},
    "card_reporter": {"id": "Pelapor: {value}", "en": "Reporter: {value}"},
    "card_anonymous": {"id": "Pelapor: anonim", "en": "Reporter: anonymous"},
    "card_confidential": {
        "id": "Rahasia: isi laporan tidak untuk publik",
        "en": "Confidential: never to be published",
    },
    "card_counts": {
        "id": "Foto: {photos} · Dukungan warga: {supporters} · Tambahan: {additions}",
        "en": "Photos: {photos} · Supporters: {supporters} · Additions: {additions}",
    },
    "card_photos_missing": {
        "id": "({count} foto dari {channel} tidak bisa diambil)",
        "en": "({count} photos from {channel} could not be fetched)",
    },
    "card_voice_notes": {
        "id": "🎤 {count} pesan suara dari pelapor (tersimpan di server, lampiran {ticket})",
        "en": "🎤 {count} voice note(s) from the reporter (stored on the server with {ticket})",
    },
    "media_missing": {
        "id": "⚠️ {count} lampiran pelapor tidak dapat ditampilkan (gagal diambil atau hilang).",
        "en": "⚠️ {count} of the reporter's files cannot be shown (not fetched, or lost).",
    },
    "card_history": {"id": "Riwayat:", "en": "History:"},
    "card_rating": {"id": "Nilai pelapor: {score}/5", "en": "Reporter's rating: {score}/5"},
    "card_closed": {"id": "Ditutup ({reason})", "en": "Closed ({reason})"},
    "closed_rated": {"id": "sudah dinilai", "en": "rated"},
    "closed_auto": {"id": "otomatis, tanpa tanggapan", "en": "automatically, no answer"},
    "card_duplicate": {"id": "Duplikat dari {ticket}", "en": "Duplicate of {ticket}"},
    "card_moved": {
        "id": "↪️ Dialihkan ke {agency}; ditangani di grupnya.",
        "en": "↪️ Passed to {agency}; handled in its group.",
    },
    "card_media": {"id": "📷 {ticket}", "en": "📷 {ticket}"},
    "card_voice": {"id": "🎤 {ticket}", "en": "🎤 {ticket}"},
    "actor_citizen": {"id": "pelapor", "en": "reporter"},
    "actor_system": {"id": "sistem", "en": "system"},
    "actor_api": {"id": "API", "en": "API"},
    # buttons
    "btn_verified": {"id": "✅ Verifikasi", "en": "✅ Verify"},
    "btn_in_progress": {"id": "🔧 Tindak lanjut", "en": "🔧 Act on it"},
    "btn_reopen": {"id": "🔁 Buka kembali", "en": "🔁 Reopen"},
    "btn_resolved": {"id": "🏁 Selesai", "en": "🏁 Resolved"},
    "btn_reject": {"id": "⛔ Tolak…", "en": "⛔ Reject…"},
    "btn_reassign": {"id": "↪️ Alihkan…", "en": "↪️ Reassign…"},
    "btn_back": {"id": "« Kembali", "en": "« Back"},
    "btn_duplicate": {"id": "Duplikat {ticket}", "en": "Duplicate of {ticket}"},
    "reason_outside_label": {"id": "Bukan wewenang", "en": "Not our remit"},
    "reason_outside": {
        "id": "di luar kewenangan pemerintah kota",
        "en": "outside the city government's remit",
    },
    "reason_spam_label": {"id": "Spam", "en": "Spam"},
    "reason_spam": {"id": "bukan pengaduan (spam)", "en": "not a complaint (spam)"},
    "reason_vague_label": {"id": "Kurang jelas", "en": "Too vague"},
    "reason_vague": {
        "id": "informasi kurang jelas; silakan lapor ulang dengan detail",
        "en": "too vague; please report again with details",
    },
    "reason_duplicate": {"id": "duplikat dari {ticket}", "en": "duplicate of {ticket}"},
    # answers to officers
    "moved": {
        "id": "{ticket}: {status} (oleh {officer}).",
        "en": "{ticket}: {status} (by {officer}).",
    },
    "moved_short": {"id": "Tersimpan: {status}", "en": "Saved: {status}"},
    "refused_same": {
        "id": "{ticket} sudah berstatus {status}.",
        "en": "{ticket} is {status} already.",
    },
    "refused_final": {
        "id": "{ticket} sudah ditolak; statusnya tidak bisa diubah lagi.",
        "en": "{ticket} was rejected; its status cannot change any more.",
    },
    "refused_closed": {
        "id": "{ticket} sudah selesai dan ditutup; tidak bisa diubah lagi.",
        "en": "{ticket} is resolved and closed; it cannot change any more.",
    },
    "refused_not_allowed": {
        "id": "{ticket} berstatus {status}; dari situ hanya bisa ke: {allowed}.",
        "en": "{ticket} is {status}; from there it can only go to: {allowed}.",
    },
    "refused_nothing": {"id": "tidak ada", "en": "nothing"},
    "refused_reason_required": {
        "id": "Menolak perlu alasan: /tolak {ticket} <alasan>",
        "en": "Rejecting needs a reason: /tolak {ticket} <reason>",
    },
    "refused_unknown_status": {
        "id": "Status tidak dikenal: {value}. Pilihan: verifikasi, proses, selesai, tolak.",
        "en": "Unknown status: {value}. Choose: verified, in_progress, resolved, rejected.",
    },
    "refused_changed": {
        "id": "{ticket} baru saja diubah petugas lain; coba lagi.",
        "en": "{ticket} was just changed by another officer; try again.",
    },
    "refused_reassign": {
        "id": "{ticket} berstatus {status}; hanya laporan terbuka yang bisa dialihkan.",
        "en": "{ticket} is {status}; only open reports can be reassigned.",
    },
    "refused_same_agency": {
        "id": "{ticket} sudah ditangani {agency}.",
        "en": "{ticket} is already with {agency}.",
    },
    "refused_self_duplicate": {
        "id": "Laporan tidak bisa menjadi duplikat dirinya sendiri.",
        "en": "A report cannot duplicate itself.",
    },
    "refused_duplicate_target": {
        "id": "{ticket} tidak bisa jadi laporan utama: statusnya {status}.",
        "en": "{ticket} cannot be the original: it is {status}.",
    },
    "not_found": {"id": "Tiket {ticket} tidak ditemukan.", "en": "Ticket {ticket} not found."},
    "wrong_group": {
        "id": "{ticket} ditangani di grup lain ({agency}).",
        "en": "{ticket} is handled in another group ({agency}).",
    },
    "chat_not_officers": {
        "id": "Grup ini belum terdaftar sebagai grup petugas.",
        "en": "This group is not registered as an officers' group.",
    },
    "user_not_officer": {
        "id": "Maaf, Anda belum terdaftar sebagai petugas.",
        "en": "Sorry, you are not registered as an officer.",
    },
    "unknown_agency": {
        "id": "Dinas tidak dikenal: {value}. Pilihan: {known}",
        "en": "Unknown agency: {value}. Choose: {known}",
    },
    "reassigned": {
        "id": "{ticket} dialihkan ke {agency} (oleh {officer}).",
        "en": "{ticket} passed to {agency} (by {officer}).",
    },
    "reassigned_short": {"id": "Dialihkan ke {agency}", "en": "Passed to {agency}"},
    "recategorised": {
        "id": "{ticket}: jenis masalah kini {category} (oleh {officer}).",
        "en": "{ticket}: category is now {category} (by {officer}).",
    },
    "recategorised_short": {"id": "Jenis masalah: {category}", "en": "Category: {category}"},
    "duplicate_marked": {
        "id": "{ticket} ditandai duplikat dari {original}; pelapornya kini mendukung {original}.",
        "en": "{ticket} marked a duplicate of {original}; its reporter now supports {original}.",
    },
    "replied": {
        "id": "Pesan diteruskan ke pelapor {ticket}.",
        "en": "Message passed to the reporter of {ticket}.",
    },
    "reply_text_only": {
        "id": "Hanya teks yang bisa diteruskan ke pelapor.",
        "en": "Only text can be passed to the reporter.",
    },
    "reply_which": {
        "id": "Balas kartu laporannya, atau: /balas <tiket> <pesan>",
        "en": "Reply to the report's card, or: /balas <ticket> <message>",
    },
    "menu_shown": {"id": "Pilih…", "en": "Choose…"},
    "error": {
        "id": "Maaf, perintah itu gagal diproses. Coba lagi sebentar lagi.",
        "en": "Sorry, that failed. Please try again shortly.",
    },
    "usage": {
        "id": (
            "Perintah petugas:\n"
            "/status <tiket> <verifikasi|proses|selesai|tolak> [catatan]\n"
            "/tolak <tiket> <alasan>\n"
            "/alihkan <tiket> <dinas>\n"
            "/duplikat <tiket> <tiket asli>\n"
            "/balas <tiket> <pesan>  (atau balas kartu laporannya)\n"
            "/laporan <tiket>\n"
            "/antrian"
        ),
        "en": (
            "Officer commands:\n"
            "/status <ticket> <verified|in_progress|resolved|rejected> [note]\n"
            "/tolak <ticket> <reason>\n"
            "/alihkan <ticket> <agency>\n"
            "/duplikat <ticket> <original ticket>\n"
            "/balas <ticket> <message>  (or reply to the report's card)\n"
            "/laporan <ticket>\n"
            "/antrian"
        ),
    },
    "queue_header": {
        "id": "Antrian: {count} laporan terbuka (terlama dulu)",
        "en": "Queue: {count} open reports (oldest first)",
    },
    "queue_line": {
        "id": "{ticket} · {status} · {category} · Kel. {kelurahan} · {days} hari kerja",
        "en": "{ticket} · {status} · {category} · Kel. {kelurahan} · {days} working days",
    },
    "queue_empty": {"id": "Tidak ada laporan terbuka. 🎉", "en": "No open reports. 🎉"},
    "queue_more": {"id": "… dan {count} lagi", "en": "… and {count} more"},
    # what citizens did, told to the group
    "citizen_added": {
        "id": "📝 Tambahan dari pelapor untuk {ticket}:\n{text}",
        "en": "📝 Addition from the reporter for {ticket}:\n{text}",
    },
    "citizen_added_other": {
        "id": "📝 Tambahan lewat kode laporan (bukan chat pelapor) untuk {ticket}:\n{text}",
        "en": "📝 Addition with the report code (not the reporter's chat) for {ticket}:\n{text}",
    },
    "citizen_photo": {
        "id": "📷 Foto tambahan dari pelapor untuk {ticket}",
        "en": "📷 Extra photo from the reporter for {ticket}",
    },
    "citizen_photo_other": {
        "id": "📷 Foto tambahan lewat kode laporan (bukan chat pelapor) untuk {ticket}",
        "en": "📷 Extra photo with the report code (not the reporter's chat) for {ticket}",
    },
    "citizen_voice_heard": {
        "id": "🎤 Pesan suara tambahan dari pelapor untuk {ticket}",
        "en": "🎤 Extra voice note from the reporter for {ticket}",
    },
    "citizen_voice_heard_other": {
        "id": "🎤 Pesan suara tambahan lewat kode laporan (bukan chat pelapor) untuk {ticket}",
        "en": "🎤 Extra voice note with the report code (not the reporter's chat) for {ticket}",
    },
    "citizen_reopened": {
        "id": "🔁 {ticket} dibuka kembali oleh pelapor: belum beres. {note}",
        "en": "🔁 {ticket} reopened by the reporter: not fixed. {note}",
    },
    "citizen_rated": {
        "id": "⭐ Pelapor menilai {ticket}: {score}/5.",
        "en": "⭐ The reporter rated {ticket}: {score}/5.",
    },
    "reminder_header": {"id": "⏰ Pengingat batas waktu", "en": "⏰ Time limit reminder"},
    "reminder_verify": {
        "id": "Belum diverifikasi lewat {days} hari kerja:",
        "en": "Not verified after {days} working days:",
    },
    "reminder_respond": {
        "id": "Belum ditindaklanjuti lewat {days} hari kerja sejak verifikasi:",
        "en": "No follow-up {days} working days after verification:",
    },
    "reminder_line": {
        "id": "• {ticket} · {category} · Kel. {kelurahan} · masuk {filed}",
        "en": "• {ticket} · {category} · Kel. {kelurahan} · filed {filed}",
    },
    # a report filed through Open311 with a media_url (bot/web/open311.py)
    "open311_media": {
        "id": "📎 Foto/media dari aplikasi Open311 untuk {ticket}: {url}",
        "en": "📎 Photo/media from an Open311 app for {ticket}: {url}",
    },
}
