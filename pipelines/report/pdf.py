"""The leaders' report as PDF: the report's HTML laid out by WeasyPrint on A4 paper.

The print look (A4 with the margins of Nghị định 30/2020/NĐ-CP, the page number centred at the
top from page 2, a small running footer, repeated table headers, one content area per page) is
in the report's own stylesheet (`templates/report.css`, `@page` and `@media print`), so that
printing from a browser looks alike. What is specific to the PDF is here: the fonts, and what
may be fetched.

Fonts: the PDF is set in Liberation Serif (metric-compatible with Times New Roman, the face
of Vietnamese administrative documents) from Debian's fonts-liberation2, every glyph embedded.
Where that package is missing, in DejaVu Serif from the TTF files that matplotlib ships (a
warning says so), so that the PDF is made whatever fonts the machine has (none at all will
do). The face is given to WeasyPrint in a stylesheet of its own, never in the HTML, which
stays self-contained: it must open from a USB stick. A browser shows the screen layout in
its own sans-serif face, and prints in Liberation Serif or Times New Roman where it has them.

Nothing is fetched from the network: the report's images are `data:` URIs, and the only files
read are the chosen face's four font files. Any other reference, an image that cannot be read
or a font that cannot be loaded is an error (`PdfError`), not a silently missing picture.
WeasyPrint is otherwise quiet (warnings only).
"""
from __future__ import annotations

import logging
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from pipelines.base.atomic import atomic_path

log = logging.getLogger(__name__)
# Debian's fonts-liberation2 (Makefile: system-libs); a module attribute, so that tests can
# make it unavailable.
LIBERATION_DIR = Path("/usr/share/fonts/truetype/liberation2")
# (file, font-weight, font-style) of each face
LIBERATION_FILES = (
    ("LiberationSerif-Regular.ttf", "normal", "normal"),
    ("LiberationSerif-Bold.ttf", "bold", "normal"),
    ("LiberationSerif-Italic.ttf", "normal", "italic"),
    ("LiberationSerif-BoldItalic.ttf", "bold", "italic"),
)
DEJAVU_FILES = (  # in matplotlib's fonts/ttf
    ("DejaVuSerif.ttf", "normal", "normal"),
    ("DejaVuSerif-Bold.ttf", "bold", "normal"),
    ("DejaVuSerif-Italic.ttf", "normal", "italic"),
    ("DejaVuSerif-BoldItalic.ttf", "bold", "italic"),
)
QUIET_LOGGERS = ("weasyprint", "fontTools")


class PdfError(RuntimeError):
    """The PDF could not be made: a resource refused or unreadable, a font not loaded."""


@dataclass(frozen=True)
class Face:
    """The PDF's font: its family name and its files (file, weight, style) in `folder`."""
    family: str
    folder: Path
    files: tuple[tuple[str, str, str], ...]

    @property
    def paths(self) -> tuple[Path, ...]:
        return tuple(self.folder / name for name, _, _ in self.files)


def font_dir() -> Path:
    """matplotlib's font folder (DejaVu)."""
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def face() -> Face:
    """Liberation Serif where fonts-liberation2 is installed; else DejaVu Serif, with a warning."""
    liberation = Face("Liberation Serif", LIBERATION_DIR, LIBERATION_FILES)
    if all(p.is_file() for p in liberation.paths):
        return liberation
    log.warning("Liberation Serif not found in %s (Debian package fonts-liberation2, "
                "`make system-libs`): the PDF is set in DejaVu Serif instead", LIBERATION_DIR)
    return Face("DejaVu Serif", font_dir(), DEJAVU_FILES)


def font_css(chosen: Face | None = None) -> str:
    """@font-face rules for the PDF's face, which the whole report is set in."""
    chosen = chosen or face()
    rules = []
    for path, (_, weight, style) in zip(chosen.paths, chosen.files):
        if not path.is_file():
            raise PdfError(f"không tìm thấy phông chữ {path}")
        rules.append(f'@font-face {{ font-family: "{chosen.family}"; src: url("{path.as_uri()}"); '
                     f"font-weight: {weight}; font-style: {style}; }}")
    # The report's print stylesheet names Liberation Serif first; this makes sure of the face.
    rules.append(f'html, body {{ font-family: "{chosen.family}", serif; }}')
    return "\n".join(rules)


def _fetcher(chosen: Face):
    """A WeasyPrint URL fetcher for `data:` URIs and the chosen face's font files only."""
    from urllib.request import url2pathname

    from weasyprint.urls import URLFetcher

    fonts = {p.resolve() for p in chosen.paths}

    class LocalFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            scheme = url.split(":", 1)[0].lower()
            if scheme == "file":
                path = Path(url2pathname(url.split("?")[0].removeprefix("file:"))).resolve()
                if path not in fonts:
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

    chosen = face()
    fetcher = _fetcher(chosen)
    fonts = FontConfiguration()
    css = weasyprint.CSS(string=font_css(chosen), font_config=fonts, url_fetcher=fetcher)
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
