"""Sample files made by code for the format tests: a Vietnamese news page, a PDF, a DOCX."""

from __future__ import annotations

import io

ARTICLE_TITLE = "Hà Nội khởi công tuyến metro số 5 dài 39 km"
ARTICLE_PARAS = [
    "Sáng 15/3, UBND thành phố Hà Nội tổ chức lễ khởi công tuyến đường sắt đô thị số 5, nối quận Ba Đình với "
    "huyện Hòa Lạc, tổng vốn đầu tư hơn 65.000 tỷ đồng.",
    "Theo Ban quản lý đường sắt đô thị, tuyến dài 39 km với 20 nhà ga, trong đó đoạn đi ngầm dài 8 km. Dự kiến "
    "tuyến sẽ được đưa vào khai thác thương mại năm 2030, phục vụ khoảng 500.000 lượt khách mỗi ngày.",
    "Ông Nguyễn Văn Phong, Phó chủ tịch UBND thành phố, cho biết dự án giúp giảm ùn tắc trên đại lộ Thăng Long "
    "và kết nối khu công nghệ cao Hòa Lạc với trung tâm thủ đô.",
]
NAV_ITEMS = ["Trang chủ", "Thời sự", "Thế giới", "Kinh doanh", "Giải trí", "Thể thao", "Pháp luật"]
RELATED = [
    "Giá vàng hôm nay tăng mạnh phiên cuối tuần",
    "Đội tuyển bóng đá nữ giành vé dự World Cup",
    "Bão số 3 đổ bộ vào các tỉnh miền Trung",
]
FOOTER = "Bản quyền thuộc về Báo Điện tử Tin Nhanh. Giấy phép số 123/GP-BTTTT do Bộ Thông tin cấp."
SCRIPT = "var trackingCode = 'UA-12345'; window.adsQueue.push(adSlot);"


def vn_news_html() -> str:
    """A page shaped like a Vietnamese news site: nav menu, the article, related articles, a script, a footer."""
    nav = "".join(f'<li><a href="/{i}">{item}</a></li>' for i, item in enumerate(NAV_ITEMS))
    related = "".join(f'<li><a href="/tin/{i}.html">{t}</a></li>' for i, t in enumerate(RELATED))
    paras = "".join(f"<p>{p}</p>" for p in ARTICLE_PARAS)
    return f"""<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8">
<title>{ARTICLE_TITLE} - Tin Nhanh</title>
<meta property="og:title" content="{ARTICLE_TITLE}">
<meta name="author" content="Minh Anh">
<meta property="article:published_time" content="2024-03-15T08:30:00+07:00">
<script>{SCRIPT}</script>
</head><body>
<header><nav class="menu"><ul>{nav}</ul></nav></header>
<main><article class="fck_detail">
<h1 class="title-detail">{ARTICLE_TITLE}</h1>
<span class="date">Thứ sáu, 15/3/2024, 08:30 (GMT+7)</span>
{paras}
<p class="author"><strong>Minh Anh</strong></p>
</article>
<aside class="box-tinlienquan"><h3>Tin liên quan</h3><ul>{related}</ul></aside>
</main>
<script>{SCRIPT}</script>
<footer class="footer"><p>{FOOTER}</p><p>Liên hệ quảng cáo: 0901 234 567</p></footer>
</body></html>"""


def _pdf_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(pages: list[list[str]]) -> bytes:
    """A minimal valid PDF (Helvetica, ASCII text), one page per list of lines, written by hand."""
    objects: list[bytes] = []
    n = len(pages)
    page_ids = [4 + 2 * i for i in range(n)]
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = " ".join(f"{p} 0 R" for p in page_ids)
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    for i, lines in enumerate(pages):
        ops = ["BT", "/F1 12 Tf", "14 TL", "72 720 Td"]
        for line in lines:
            ops.append(f"({_pdf_escape(line)}) Tj T*")
        ops.append("ET")
        stream = "\n".join(ops).encode("latin-1")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
            f"/Contents {page_ids[i] + 1} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def make_docx() -> bytes:
    """A Word document written by python-docx: title, heading, paragraphs, a table."""
    from docx import Document

    document = Document()
    document.core_properties.author = "Lê Thu Hà"
    document.add_heading("Báo cáo tài chính quý I", level=0)
    document.add_paragraph("Doanh thu quý I của công ty đạt 1.200 tỷ đồng, tăng 15% so với cùng kỳ năm trước.")
    document.add_heading("Chi phí", level=1)
    document.add_paragraph("Chi phí vận hành giảm 3% nhờ tự động hóa dây chuyền sản xuất.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Chỉ tiêu"
    table.cell(0, 1).text = "Giá trị"
    table.cell(1, 0).text = "Lợi nhuận ròng"
    table.cell(1, 1).text = "180 tỷ đồng"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
