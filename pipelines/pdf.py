"""The leaders' report as PDF: the report's HTML laid out by WeasyPrint on A4 paper.

The print look (page size, margins, `Trang N/M`, running header, repeated table headers, one
content area per page) is in the report's own stylesheet (`templates/report.css`, `@page` and
`@media print`), so that printing from a browser looks alike. What is specific to the PDF is
here: the fonts, and what may be fetched.

Fonts: the PDF embeds DejaVu Sans from the TTF files that matplotlib ships, so every
Vietnamese glyph is there whatever fonts the machine has (none at all will do). They are given
to WeasyPrint in a stylesheet of its own, never in the HTML, which stays self-contained: it
must open from a USB stick.

Nothing is fetched from the network: the report's images are `data:` URIs, and the only files
read are those fonts. Any other reference, an image that cannot be read or a font that cannot
be loaded is an error (`PdfError`), not a silently missing picture. WeasyPrint is otherwise
quiet (warnings only).
"""
from __future__ import annotations

import logging
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from pipelines.atomic import atomic_path

FONT_FAMILY = "DejaVu Sans"  # the first family of the report's font stack
# (file in matplotlib's fonts/ttf, font-weight, font-style)
FONT_FILES = (
    ("DejaVuSans.ttf", "normal", "normal"),
    ("DejaVuSans-Bold.ttf", "bold", "normal"),
    ("DejaVuSans-Oblique.ttf", "normal", "italic"),
    ("DejaVuSans-BoldOblique.ttf", "bold", "italic"),
)
QUIET_LOGGERS = ("weasyprint", "fontTools")


class PdfError(RuntimeError):
    """The PDF could not be made: a resource refused or unreadable, a font not loaded."""


def font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def font_css() -> str:
    """@font-face rules pointing the report's font family at matplotlib's DejaVu Sans files."""
    rules = []
    for name, weight, style in FONT_FILES:
        path = font_dir() / name
        if not path.is_file():
            raise PdfError(f"không tìm thấy phông chữ {path}")
        rules.append(f'@font-face {{ font-family: "{FONT_FAMILY}"; src: url("{path.as_uri()}"); '
                     f"font-weight: {weight}; font-style: {style}; }}")
    # The report's stylesheet names the same family first; this makes sure of it.
    rules.append(f'html, body {{ font-family: "{FONT_FAMILY}", sans-serif; }}')
    return "\n".join(rules)


def _fetcher():
    """A WeasyPrint URL fetcher for `data:` URIs and files in matplotlib's font folder only."""
    from urllib.request import url2pathname

    from weasyprint.urls import URLFetcher

    fonts = font_dir().resolve()

    class LocalFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            scheme = url.split(":", 1)[0].lower()
            if scheme == "file":
                path = Path(url2pathname(url.split("?")[0].removeprefix("file:"))).resolve()
                if not path.is_relative_to(fonts):
                    raise ValueError(f"refused: {url[:200]}")
            elif scheme != "data":
                raise ValueError(f"refused: {url[:200]}")
            return super().fetch(url, headers)

    return LocalFetcher(timeout=5, allowed_protocols={"data", "file"}, allow_redirects=False,
                        fail_on_errors=True)


class _Problems(logging.Handler):
    """Collects what WeasyPrint reports that would make the PDF wrong rather than plainer."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.levelno >= logging.ERROR or message.startswith("Font-face"):
            self.messages.append(message[:300])

    def check(self) -> None:
        if self.messages:
            raise PdfError("; ".join(self.messages))


@contextmanager
def _weasyprint() -> Iterator[_Problems]:
    """WeasyPrint quiet but for warnings, and its real errors raised as `PdfError`."""
    try:
        import weasyprint  # noqa: F401  loads Pango
    except OSError as exc:  # the library is there, the system's Pango is not
        raise PdfError("WeasyPrint cần thư viện Pango (Debian: libpango-1.0-0, "
                       f"libpangoft2-1.0-0; `make system-libs`): {exc}") from exc
    from weasyprint.urls import FatalURLFetchingError

    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    log = logging.getLogger("weasyprint")
    problems = _Problems()
    log.addHandler(problems)
    try:
        with warnings.catch_warnings():
            # Raised where the machine has no fonts at all: we bring our own.
            warnings.filterwarnings("ignore", message="No fonts configured in FontConfig")
            yield problems
    except FatalURLFetchingError as exc:  # a BaseException in WeasyPrint: make it an error
        raise PdfError(f"{exc}: {exc.__cause__}") from exc
    finally:
        log.removeHandler(problems)


def _render(html: str):
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    fetcher = _fetcher()
    fonts = FontConfiguration()
    css = weasyprint.CSS(string=font_css(), font_config=fonts, url_fetcher=fetcher)
    return weasyprint.HTML(string=html, url_fetcher=fetcher, media_type="print").render(
        stylesheets=[css], font_config=fonts)


def layout(html: str):
    """The report laid out on pages, as `write_pdf` prints it (a `weasyprint.Document`)."""
    with _weasyprint() as problems:
        document = _render(html)
        problems.check()
    return document


def write_pdf(html: str, path: Path) -> int:
    """Write the report `html` as a PDF at `path`, atomically; return its number of pages.

    Raises `PdfError` when the PDF cannot be made as the HTML shows it, or when the system
    lacks Pango (`path` is then left as it was). The HTML stays the report of record: a
    caller may log a `PdfError` and go on.
    """
    with _weasyprint() as problems:
        document = _render(html)
        with atomic_path(path) as tmp:
            document.write_pdf(tmp)
            problems.check()  # images are read in layout, some drawn in writing
    return len(document.pages)
