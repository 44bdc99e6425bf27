"""The certificate a partner shares: its name and words in any script, its logo only
when it is named, and a printed address (and QR code) that tells anyone, today, whether
the record still stands."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image, ImageDraw
from pypdf import PdfReader
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.pdfbase import pdfmetrics
from sqlalchemy.orm import Session

from grantpool.attribution import services as attribution
from grantpool.attribution.commands import ConsentChange, CreditSettings, SafetyFlag
from grantpool.attribution.rules import ConsentScope, ConsentState, LocationPrecision, Naming
from grantpool.platform import pdf
from grantpool.publishing import verification
from grantpool.publishing.pdf import logo_flowable

from .helpers import published_grant

ARABIC = ("جمعية نساء الواحة", "نزرع النخيل ونحفر الآبار")
VIETNAMESE = ("Hội Phụ nữ Tiến bộ", "Lớp học chữ cho phụ nữ ở Đồng Tháp")
WEST_AFRICAN = ("Ŋkɔ Ɗaŋ Ɲɛ", "Mɔ ɛ ŋ ɲ ƙ ɗ ẽ: nous tenons des tontines")
SCRIPTS = {"arabic": ARABIC, "vietnamese": VIETNAMESE, "west_african": WEST_AFRICAN}
VERIFY_URL = re.compile(r"https?://\S+/published/verify/[0-9A-Z-]+")


def logo_bytes(kind: str = "PNG") -> bytes:
    image = Image.new("RGB", (240, 120), "white")
    draw = ImageDraw.Draw(image)
    draw.ellipse((10, 10, 110, 110), fill=(200, 90, 30))
    draw.rectangle((130, 40, 230, 80), fill=(20, 90, 120))
    out = io.BytesIO()
    image.save(out, format=kind)
    return out.getvalue()


def publish(
    session: Session,
    name: str,
    words: str,
    *,
    scope: str = "named",
    logo: bytes | None = None,
) -> Any:
    p = published_grant(session, organisation={"name": name})
    attribution.save_organisation_settings(
        session,
        p.partner,
        p.organisation,
        CreditSettings(Naming.OWN_NAME, LocationPrecision.COUNTRY, descriptions={"en": words}),
        logo=attribution.Logo(io.BytesIO(logo)) if logo else None,
    )
    attribution.change_consent(
        session, p.partner, p.grant, ConsentChange(ConsentState.GIVEN, ConsentScope(scope))
    )
    return p


def certificate(client: FlaskClient, grant_id: int) -> bytes:
    response = client.get(f"/published/{grant_id}/certificate.pdf")
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "application/pdf"
    return bytes(response.data)


def text_of(document: bytes) -> str:
    """The PDF's text with Arabic presentation forms folded back to letters (NFKC)."""
    reader = PdfReader(io.BytesIO(document))
    raw = "\n".join(page.extract_text() for page in reader.pages)
    return unicodedata.normalize("NFKC", raw)


def fonts_of(document: bytes) -> set[str]:
    names = set()
    for page in PdfReader(io.BytesIO(document)).pages:
        for font in page["/Resources"]["/Font"].values():
            names.add(str(font.get_object()["/BaseFont"]))
    return names


def images_on_first_page(document: bytes) -> int:
    return len(PdfReader(io.BytesIO(document)).pages[0].images)


def render_first_page(document: bytes, tmp_path: Path, dpi: int = 100) -> Image.Image:
    """Page 1 as a grey picture, drawn by poppler's pdftoppm."""
    source = tmp_path / "certificate.pdf"
    source.write_bytes(document)
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            str(dpi),
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            source,
            tmp_path / "page",
        ],
        check=True,
        timeout=60,
    )
    with Image.open(tmp_path / "page.png") as page:
        return page.convert("L")


# -- the shared PDF module ---------------------------------------------------------------


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_the_shipped_fonts_draw_every_letter_of_the_partners_scripts(script: str) -> None:
    pdf.register_fonts()
    for face in (pdf.FONT, pdf.FONT_BOLD):
        covered = pdfmetrics.getFont(face).face.charToGlyph
        for text in SCRIPTS[script]:
            missing = {c for c in pdf.shape(text) if not c.isspace() and ord(c) not in covered}
            assert not missing, (face, text, missing)


def test_arabic_is_joined_reordered_and_aligned_right() -> None:
    s = pdf.styles(pdf.Direction.LTR)
    words = "نحن نزرع النخيل ونحفر الآبار ونعلم الفتيات القراءة والكتابة في القرى البعيدة"
    flowable = pdf.paragraph(words, s.body)
    assert isinstance(flowable, pdf.BidiParagraph)
    assert flowable.style.alignment == TA_RIGHT
    flowable.wrap(120, 1000)
    lines = flowable._inner.text.split("<br/>")
    assert len(lines) > 2
    # Joined: presentation forms, not the bare letters.
    assert all("\ufe70" <= c <= "\ufeff" for c in lines[0] if not c.isspace())
    # Each line reads right to left, and the first words are on the first line.
    first_line = unicodedata.normalize("NFKC", lines[0][::-1])
    assert first_line.startswith("نحن نزرع")
    last_line = unicodedata.normalize("NFKC", lines[-1][::-1])
    assert words.endswith(last_line)


def test_a_long_arabic_text_flows_on_to_the_next_page_in_reading_order() -> None:
    s = pdf.styles("ltr")
    sentences = [f"الجملة رقم {n} عن النخيل والآبار في القرى." for n in range(1, 121)]
    out = io.BytesIO()
    pdf.document(out).build([pdf.paragraph(" ".join(sentences), s.body)])
    pages = PdfReader(io.BytesIO(out.getvalue())).pages
    assert len(pages) > 1
    fonts = {str(f.get_object()["/BaseFont"]) for f in pages[0]["/Resources"]["/Font"].values()}
    assert fonts == {"/AAAAAA+DejaVuSans"}
    # Nothing is lost at the page break: every sentence's number is printed once.
    numbers = re.findall(r"\d+", "".join(p.extract_text() for p in pages))
    assert sorted(map(int, numbers)) == list(range(1, 121))


def test_paragraphs_escape_text_and_keep_latin_where_it_was() -> None:
    s = pdf.styles("ltr")
    plain = pdf.paragraph("Tom & Jerry <b>not bold</b>", s.body)
    assert plain.text == "Tom &amp; Jerry &lt;b&gt;not bold&lt;/b&gt;"
    assert plain.style.alignment == TA_LEFT
    assert pdf.paragraph("Certificate", s.title).style.alignment == TA_CENTER
    rtl = pdf.styles("rtl")
    assert rtl.body.alignment == TA_RIGHT and rtl.title.alignment == TA_CENTER
    # An Arabic name inside an English sentence keeps the sentence left to right.
    mixed = pdf.paragraph("Delivered by جمعية نساء الواحة", s.body)
    assert isinstance(mixed, pdf.BidiParagraph) and mixed.direction == pdf.Direction.LTR
    assert mixed.style.alignment == TA_LEFT
    assert pdf.direction_of("ar_EG") == pdf.Direction.RTL
    assert pdf.direction_of("fr") == pdf.Direction.LTR


def test_a_bad_logo_is_left_out_and_a_good_one_fits_its_box() -> None:
    assert logo_flowable(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64) is None
    assert logo_flowable(b"GIF89a" + b"\x00" * 64) is None
    assert logo_flowable(logo_bytes("PNG")[:200]) is None  # truncated
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, format="GIF")
    assert logo_flowable(gif.getvalue()) is None
    image = logo_flowable(logo_bytes("JPEG"), box=(100, 30))
    assert image is not None
    assert image.drawWidth <= 100.01 and image.drawHeight <= 30.01
    assert abs(image.drawWidth / image.drawHeight - 2) < 0.01


def test_verification_codes_cannot_be_made_without_the_secret() -> None:
    code = verification.verification_code(42, "s3cret")
    assert code.startswith("42-")
    assert verification.grant_id_from_code(code, "s3cret") == 42
    assert verification.grant_id_from_code(code.lower(), "s3cret") == 42
    assert verification.grant_id_from_code(code, "another secret") is None
    assert verification.grant_id_from_code(code.replace("42-", "43-"), "s3cret") is None
    flipped = code[:-1] + ("A" if code[-1] != "A" else "B")
    assert verification.grant_id_from_code(flipped, "s3cret") is None
    assert verification.grant_id_from_code("42", "s3cret") is None
    assert verification.grant_id_from_code("../42-AAAA", "s3cret") is None


# -- the certificate ---------------------------------------------------------------------


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_certificate_prints_the_partners_name_and_words_in_unicode_fonts(
    client: FlaskClient, session: Session, script: str
) -> None:
    name, words = SCRIPTS[script]
    p = publish(session, name, words)
    document = certificate(client, p.grant.id)
    text = text_of(document)
    assert name in text
    assert words in text
    assert "Earmark Foundation" in text
    assert "Certificate of attribution" in text
    fonts = fonts_of(document)
    assert fonts and all("DejaVuSans" in f for f in fonts), fonts
    assert not any("Helvetica" in f for f in fonts)
    if script == "arabic":
        raw = "".join(page.extract_text() for page in PdfReader(io.BytesIO(document)).pages)
        assert any("\ufe70" <= c <= "\ufeff" for c in raw), "Arabic letters were not joined"


def test_certificate_in_french_formats_dates_and_amounts_in_french(
    client: FlaskClient, session: Session
) -> None:
    p = publish(session, "Groupe Lecture", "Des clubs de lecture.")
    p.grant.language = "fr"
    text = text_of(certificate(client, p.grant.id))
    assert "Groupe Lecture" in text
    start = p.grant.start_on
    from babel.dates import format_date

    assert format_date(start, "long", locale="fr") in text
    assert re.search(r"10\s000,00", text), text


@pytest.mark.parametrize("kind", ["PNG", "JPEG"])
def test_the_logo_appears_when_the_partner_is_named_and_never_when_anonymised(
    client: FlaskClient, session: Session, kind: str
) -> None:
    p = publish(session, "Logo Makers Union", "We make logos.", logo=logo_bytes(kind))
    named = certificate(client, p.grant.id)
    assert images_on_first_page(named) == 1
    attribution.change_consent(
        session, p.partner, p.grant, ConsentChange(ConsentState.GIVEN, ConsentScope.ANONYMISED)
    )
    anonymised = certificate(client, p.grant.id)
    assert images_on_first_page(anonymised) == 0
    assert "Logo Makers" not in text_of(anonymised)


def test_a_broken_logo_does_not_stop_the_certificate(client: FlaskClient, session: Session) -> None:
    p = publish(session, "Broken Logo Club", "Words.", logo=b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    document = certificate(client, p.grant.id)
    assert images_on_first_page(document) == 0
    assert "Broken Logo Club" in text_of(document)


# -- verification ------------------------------------------------------------------------


def test_the_printed_address_tells_the_records_state_today(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    name, words = ARABIC
    p = publish(session, name, words)
    document = certificate(client, p.grant.id)
    found = VERIFY_URL.search(text_of(document))
    assert found, "the verification address is not printed"
    url = found.group(0)
    assert url.startswith(app.config["BASE_URL"].rstrip("/") + "/published/verify/")
    assert url == verification.verification_url(p.grant.id)
    path = url.removeprefix(app.config["BASE_URL"].rstrip("/"))

    valid = client.get(path)
    assert valid.status_code == 200
    body = valid.get_data(as_text=True)
    assert "This certificate is valid." in body
    assert f"G-{p.grant.id:05d}" in body and name in body
    assert f'href="/published/{p.grant.id}"' in body
    assert valid.headers["Cache-Control"] == "no-store"
    assert url in client.get(f"/published/{p.grant.id}").get_data(as_text=True)

    attribution.set_safety_flag(
        session, p.world.manager, p.grant, SafetyFlag(True, "Threats reported")
    )
    flagged = client.get(path).get_data(as_text=True)
    assert "This record is no longer published." in flagged and name not in flagged
    attribution.set_safety_flag(session, p.world.manager, p.grant, SafetyFlag(False))
    assert "This certificate is valid." in client.get(path).get_data(as_text=True)

    attribution.change_consent(session, p.partner, p.grant, ConsentChange(ConsentState.WITHDRAWN))
    withdrawn = client.get(path)
    assert withdrawn.status_code == 200
    body = withdrawn.get_data(as_text=True)
    assert "This record is no longer published." in body
    for secret in (name, f"G-{p.grant.id:05d}", "Earmark", "10,000", p.world.fund.name):
        assert secret not in body, secret
    assert f"/published/{p.grant.id}" not in body


def test_page_one_is_drawn_and_its_qr_code_opens_the_printed_address(
    client: FlaskClient, session: Session, tmp_path: Path
) -> None:
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm is not installed (apt-get install poppler-utils; .ci/run does)")
    import zxingcpp

    name, words = WEST_AFRICAN
    p = publish(session, name, words, logo=logo_bytes("PNG"))
    document = certificate(client, p.grant.id)
    page = render_first_page(document, tmp_path)
    # Not blank: a good share of the page is ink.
    dark = sum(page.histogram()[:128])
    assert dark > page.width * page.height * 0.02, dark
    decoded = [r.text for r in zxingcpp.read_barcodes(page)]
    assert decoded == [verification.verification_url(p.grant.id)]
    found = VERIFY_URL.search(text_of(document))
    assert found and found.group(0) == decoded[0]


def test_unknown_or_altered_codes_are_not_found(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    p = publish(session, "Real Partner", "Words.")
    code = verification.verification_code(p.grant.id, app.config["SECRET_KEY"])
    assert client.get(f"/published/verify/{code}").status_code == 200
    altered = code[:-1] + ("A" if code[-1] != "A" else "B")
    assert client.get(f"/published/verify/{altered}").status_code == 404
    other_id = f"{p.grant.id + 1}-{code.split('-')[1]}"
    assert client.get(f"/published/verify/{other_id}").status_code == 404
    assert client.get(f"/published/verify/{p.grant.id}").status_code == 404
    missing = verification.verification_code(p.grant.id + 10_000, app.config["SECRET_KEY"])
    assert client.get(f"/published/verify/{missing}").status_code == 404
    forged = verification.verification_code(p.grant.id, "not-the-secret")
    assert client.get(f"/published/verify/{forged}").status_code == 404
