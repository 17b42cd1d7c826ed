"""What Open311 clients (and the people using them) read: the notice of a filed request, the
privacy attribute of every service, and the errors, in Indonesian and English.

Part of the same catalogue as the citizens' texts (intake/texts.py): `Texts.get(key, lang)`
reads one and `[texts.id] open311_notice = "..."` overrides one.
"""

from __future__ import annotations

OPEN311_CATALOGUE: dict[str, dict[str, str]] = {
    "open311_notice": {
        "id": (
            "Laporan {ticket} diterima dan diteruskan ke {agency}; verifikasi paling lambat "
            "{days} hari kerja. Kode laporan: {code} (cek lewat chat: CEK {ticket} {code})."
        ),
        "en": (
            "Report {ticket} was received and passed to {agency}; it is verified within {days} "
            "working days. Report code: {code} (check it in a chat: CHECK {ticket} {code})."
        ),
    },
    "open311_privacy": {
        "id": (
            "Privasi laporan (boleh dua-duanya, boleh tidak sama sekali): anonim = petugas tidak "
            "melihat siapa pelapornya; rahasia = laporan tidak pernah dipublikasikan."
        ),
        "en": (
            "Privacy of the report (both, or neither): anonymous = officers never see who "
            "reported; confidential = the report is never published."
        ),
    },
    "open311_privacy_anonymous": {
        "id": "Anonim: identitas pelapor disembunyikan dari petugas",
        "en": "Anonymous: the reporter's identity is hidden from officers",
    },
    "open311_privacy_confidential": {
        "id": "Rahasia: laporan tidak dipublikasikan",
        "en": "Confidential: the report is never published",
    },
    "open311_privacy_type": {
        "id": "Pilih nol, satu atau dua nilai.",
        "en": "Choose none, one or both values.",
    },
    "open311_key_service": {
        "id": "api_key untuk membuat laporan diberikan oleh pengelola layanan ini (lihat contact).",
        "en": "An api_key to file reports is given by the team running this service (see contact).",
    },
    # errors (the spec's <errors><error><code/><description/></error></errors>)
    "open311_err_api_key": {
        "id": "api_key tidak ada atau tidak dikenal: laporan tidak dibuat.",
        "en": "Missing or unknown api_key: no report was filed.",
    },
    "open311_err_jurisdiction": {
        "id": "jurisdiction_id {value} tidak dilayani di sini (gunakan {expected}).",
        "en": "jurisdiction_id {value} is not served here (use {expected}).",
    },
    "open311_err_format": {
        "id": "Format {value} tidak dikenal: akhiri alamatnya dengan .json atau .xml.",
        "en": "Unknown format {value}: end the address with .json or .xml.",
    },
    "open311_err_body": {
        "id": "Kirim formulir application/x-www-form-urlencoded dalam UTF-8.",
        "en": "Send an application/x-www-form-urlencoded form in UTF-8.",
    },
    "open311_err_service_missing": {
        "id": "service_code wajib diisi (lihat services.json).",
        "en": "service_code is required (see services.json).",
    },
    "open311_err_service_unknown": {
        "id": "Tidak ada layanan dengan service_code {value} (lihat services.json).",
        "en": "No service has service_code {value} (see services.json).",
    },
    "open311_err_request_unknown": {
        "id": "Tidak ada laporan {value}.",
        "en": "There is no report {value}.",
    },
    "open311_err_location_missing": {
        "id": "Lokasi wajib diisi: lat dan long, atau address_string.",
        "en": "A location is required: lat and long, or address_string.",
    },
    "open311_err_latlong": {
        "id": "lat dan long dikirim berdua, sebagai derajat WGS84 (mis. lat=-7.63&long=111.52).",
        "en": "Send lat and long together, as WGS84 degrees (e.g. lat=-7.63&long=111.52).",
    },
    "open311_err_outside": {
        "id": (
            "Titik itu di luar wilayah {city}, jadi bukan wewenang kami: laporkan ke pemerintah "
            "daerah setempat atau lewat lapor.go.id."
        ),
        "en": (
            "That point is outside {city}, so it is not ours to handle: report it to the local "
            "government there or at lapor.go.id."
        ),
    },
    "open311_err_address_id": {
        "id": "address_id tidak dipakai di sini: kirim lat dan long, atau address_string.",
        "en": "address_id is not used here: send lat and long, or address_string.",
    },
    "open311_err_description": {
        "id": "description wajib diisi: apa masalahnya, sejak kapan, apa dampaknya?",
        "en": "description is required: what is wrong, since when, how does it affect people?",
    },
    "open311_err_too_long": {
        "id": "{field} terlalu panjang: paling banyak {limit} karakter.",
        "en": "{field} is too long: at most {limit} characters.",
    },
    "open311_err_email": {
        "id": "email tidak valid (contoh: nama@contoh.id).",
        "en": "email is not valid (e.g. name@example.org).",
    },
    "open311_err_phone": {
        "id": "phone tidak valid: angka, boleh diawali +, mis. +6281234567890.",
        "en": "phone is not valid: digits, optionally starting with +, e.g. +6281234567890.",
    },
    "open311_err_media_url": {
        "id": "media_url harus alamat http:// atau https:// tanpa spasi.",
        "en": "media_url must be an http:// or https:// address without spaces.",
    },
    "open311_err_attribute": {
        "id": "attribute[{code}] tidak dikenal; layanan ini hanya punya attribute[privacy].",
        "en": "Unknown attribute[{code}]; this service has only attribute[privacy].",
    },
    "open311_err_privacy": {
        "id": "Nilai attribute[privacy] {value} tidak dikenal: gunakan anonim dan/atau rahasia.",
        "en": "Unknown attribute[privacy] value {value}: use anonim and/or rahasia.",
    },
    "open311_err_date": {
        "id": (
            "{field} bukan waktu yang dikenal: gunakan format W3C, mis. "
            "2026-01-31T00:00:00+07:00 (antara tahun 1900 dan 9000)."
        ),
        "en": (
            "{field} is not a time we can read: use the W3C format, e.g. "
            "2026-01-31T00:00:00+07:00 (between the years 1900 and 9000)."
        ),
    },
    "open311_err_range": {
        "id": "start_date harus sebelum end_date, dan rentangnya paling lama {days} hari.",
        "en": "start_date must come before end_date, at most {days} days apart.",
    },
    "open311_err_status": {
        "id": "status {value} tidak dikenal: gunakan open dan/atau closed.",
        "en": "Unknown status {value}: use open and/or closed.",
    },
    "open311_err_number": {
        "id": "{field} harus bilangan bulat dari 1 sampai {limit}.",
        "en": "{field} must be a whole number from 1 to {limit}.",
    },
    "open311_err_too_many": {
        "id": "Paling banyak {limit} nilai {field} sekaligus.",
        "en": "At most {limit} values of {field} at once.",
    },
}
