"""What the public follow-up page (/public) says, in Indonesian and English.

Part of the same catalogue as the citizens' texts (intake/texts.py): `Texts.public(key, lang)`
reads one, and an admin overrides one as `public_<key>`
(`[texts.id] public_title = "Tindak lanjut pengaduan {city}"`); they have no SMS form.
"""

from __future__ import annotations

PUBLIC_CATALOGUE: dict[str, dict[str, str]] = {
    "title": {
        "id": "Tindak lanjut pengaduan warga {city}",
        "en": "Follow-up of citizens' complaints, {city}",
    },
    "intro": {
        "id": (
            "Berapa laporan warga yang masuk ke tiap dinas, berapa yang sudah ditindaklanjuti "
            "dan diselesaikan, seberapa cepat petugas menanggapi, dan seberapa puas pelapor. "
            "Laporan rahasia ikut dihitung tetapi isinya tidak pernah ditampilkan; nama dan "
            "nomor warga tidak pernah ditampilkan."
        ),
        "en": (
            "How many citizens' reports each agency received, how many it followed up and "
            "resolved, how fast officers responded, and how satisfied reporters were. "
            "Confidential reports are counted but never shown; no citizen's name or number "
            "is ever shown."
        ),
    },
    "period": {"id": "{first} s.d. {last}", "en": "{first} to {last}"},
    "updated": {"id": "Diperbarui {time}", "en": "Updated {time}"},
    "switch": {"id": "English", "en": "Bahasa Indonesia"},
    "overall": {"id": "Seluruh periode per dinas", "en": "The whole period by agency"},
    "by_month": {"id": "Per bulan", "en": "By month"},
    "agency": {"id": "Dinas", "en": "Agency"},
    "all_agencies": {"id": "Semua dinas", "en": "All agencies"},
    "received": {"id": "Laporan masuk", "en": "Received"},
    "followed_up": {"id": "Ditindaklanjuti", "en": "Followed up"},
    "median_response": {"id": "Median tanggapan pertama", "en": "Median first response"},
    "resolved": {"id": "Selesai", "en": "Resolved"},
    "satisfaction": {"id": "Kepuasan (1-5)", "en": "Satisfaction (1-5)"},
    "ratings": {"id": "{count} penilaian", "en": "{count} ratings"},
    "no_reports": {"id": "Belum ada laporan.", "en": "No reports yet."},
    "map": {"id": "Peta laporan yang sudah selesai", "en": "Map of resolved reports"},
    "map_note": {
        "id": (
            "Satu titik per laporan selesai, dibulatkan sekitar 100 m; laporan tanpa titik GPS "
            "di tengah kelurahannya. Laporan rahasia tidak ada di peta."
        ),
        "en": (
            "One dot per resolved report, rounded to about 100 m; reports without a GPS point "
            "at the middle of their kelurahan. Confidential reports are not on the map."
        ),
    },
    "map_legend": {"id": "Laporan selesai: {count}", "en": "Resolved reports: {count}"},
    "no_map": {"id": "Belum ada wilayah yang dikonfigurasi.", "en": "No areas configured."},
    "dot": {
        "id": "{category}, selesai, masuk {month}",
        "en": "{category}, resolved, filed {month}",
    },
    "json": {"id": "Data yang sama dalam JSON", "en": "The same figures as JSON"},
    "how_to_report": {
        "id": "Laporkan masalah lewat WhatsApp, Telegram atau SMS layanan pengaduan kota.",
        "en": "Report a problem through the city's complaint service on WhatsApp, Telegram or SMS.",
    },
}
