"""Line-labelled documents (code / prose) made from real files on this machine, with their code marks taken off.

The line-level code detector (:mod:`codemill.curate.filters.code_lines`) is trained and measured on text whose
code is *not* marked, as in text extracted from web pages, forums and PDFs. Its labels come from documents whose
authors did mark their code, and the marks are removed once they have given the label:

* ``markdown``: fenced blocks (the fence lines deleted); indented blocks outside fences are left out (``skip``);
* ``rest``: literal blocks after ``::``, ``.. code-block::`` directives, ``>>>`` doctest blocks (``::`` becomes
  ``:``, directives and their options are deleted);
* ``man``: rendered man pages, code = ``.EX``/``.EE`` examples, pod2man's ``.Vb``/``.Ve`` verbatim blocks and the
  no-fill synopsis of sections 2 and 3 (other no-fill blocks and other synopses are left out);
* ``html``: HTML documentation (``<pre>`` is code; navigation, scripts and styles are dropped);
* ``pod``: Perl's POD (verbatim paragraphs are code; commands and formatting codes become plain text);
* ``source``: code files read as interleaved text: comments and docstrings are prose, the rest is code
  (comment lines that look like commented-out code are left out);
* ``prose``: text with no code at all (licences, Debian changelogs, Git's release notes).

Every code block loses the indentation that marked it (it is dedented to the margin), so the detector cannot
rely on layout that extraction usually flattens. Each document has a ``group`` (its package, page family or
book); the held-out split is by group (:func:`split`), never inside one.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import subprocess
import sysconfig
import textwrap
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from email.parser import HeaderParser
from html.parser import HTMLParser
from pathlib import Path

__all__ = ["KINDS", "LabelledDoc", "labelled_documents", "line_scores", "load_documents", "part_of", "split"]

CODE, PROSE, SKIP = "code", "prose", "skip"
KINDS = ("markdown", "rest", "man", "html", "pod", "source", "prose")
DOC = Path("/usr/share/doc")
MAN = Path("/usr/share/man")
PERL_ROOTS = (Path("/usr/share/perl"), Path("/usr/share/perl5"))
MAX_LINES = 400  # a document's first lines at most: long references would outweigh everything else
MIN_LINES = 8
#: Fenced blocks whose content is output or diagrams, not code: left out of labels
NOT_CODE_INFO = re.compile(r"^(text|txt|plain|plaintext|output|none|log|mermaid|diff)?$", re.I)
FAQ = re.compile(r"(?i)faq")


@dataclass
class LabelledDoc:
    """One document's lines, each labelled ``code``, ``prose`` or ``skip`` (left out), with where it came from."""

    lines: list[str]
    labels: list[str]
    kind: str
    group: str
    name: str

    @property
    def qa(self) -> bool:
        """Question-and-answer text (an FAQ in any of the formats)."""
        return bool(FAQ.search(self.name))


def split(docs: Sequence[LabelledDoc], held: float = 0.25, dev: float = 0.15) -> dict[str, str]:
    """Each group's part, ``train``, ``dev`` or ``test``: groups are taken in the order of their hash, and a group
    goes to ``test`` while its main kind has fewer than ``held`` of its documents there, then to ``dev`` likewise,
    else to ``train``; so every kind is held out in about the same share, and no group straddles two parts.
    Every FAQ is held out (question-and-answer text is measured on its own)."""
    sizes: dict[str, Counter[str]] = {}
    for doc in docs:
        sizes.setdefault(doc.group, Counter())[doc.kind] += 1
    totals: Counter[str] = Counter(doc.kind for doc in docs)
    taken: dict[str, Counter[str]] = {"test": Counter(), "dev": Counter()}
    parts: dict[str, str] = {}
    for group in sorted(sizes, key=lambda g: hashlib.sha1(g.encode()).hexdigest()):
        kind, n = sizes[group].most_common(1)[0]
        part = "train"
        for name, share in (("test", held), ("dev", dev)):
            if taken[name][kind] + n / 2 <= share * totals[kind]:
                part = name
                break
        if part != "train":
            taken[part][kind] += n
        parts[group] = part
    return parts


def part_of(doc: LabelledDoc, parts: dict[str, str]) -> str:
    """A document's part of the split (:func:`split`); an FAQ is always ``test``."""
    return "test" if doc.qa else parts[doc.group]


def _read(path: Path) -> str | None:
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        return raw.decode("utf-8")
    except (OSError, UnicodeDecodeError, EOFError, gzip.BadGzipFile):
        return None


def _dedent(block: list[str]) -> list[str]:
    return textwrap.dedent("\n".join(block)).split("\n") if block else []


def _finish(lines: list[str], labels: list[str], kind: str, group: str, name: str) -> LabelledDoc | None:
    """A document cut to ``MAX_LINES``, or None when it is too short or has nothing to learn from."""
    lines, labels = lines[:MAX_LINES], labels[:MAX_LINES]
    if sum(1 for x, lab in zip(lines, labels, strict=True) if x.strip() and lab != SKIP) < MIN_LINES:
        return None
    return LabelledDoc([x.rstrip() for x in lines], labels, kind, group, name)


# ---------------------------------------------------------------------------------------------------- Markdown

FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([^`\s]*)")


def label_markdown(text: str) -> tuple[list[str], list[str]] | None:
    """Lines and labels of a Markdown text with at least one fenced block; the fence lines are deleted."""
    src = text.splitlines()
    lines: list[str] = []
    labels: list[str] = []
    i, fenced = 0, 0
    while i < len(src):
        m = FENCE.match(src[i])
        if m:
            mark, info = m.group(2), m.group(3)
            j = i + 1
            while j < len(src) and not src[j].lstrip().startswith(mark[0] * len(mark)):
                j += 1
            block = _dedent(src[i + 1 : j])
            lines += block
            myst = info.startswith("{") and not re.match(r"\{(code-block|code|sourcecode)\}", info)
            labels += [SKIP if (NOT_CODE_INFO.match(info) and info) or myst else CODE] * len(block)
            fenced += 1
            i = j + 1
            continue
        line = src[i]
        indented = line.startswith(("    ", "\t")) and line.strip() and (not lines or not lines[-1].strip())
        if indented and not line.lstrip().startswith(("- ", "* ", "+ ")) and not re.match(r"\s*\d+\.", line):
            while i < len(src) and (src[i].startswith(("    ", "\t")) or not src[i].strip()):
                lines.append(src[i])
                labels.append(SKIP)  # an indented block may be code or a nested paragraph: not a label
                i += 1
            continue
        lines.append(line)
        labels.append(PROSE)
        i += 1
    return (lines, labels) if fenced else None


def _site_packages() -> Path:
    return Path(sysconfig.get_paths()["purelib"])


def markdown_documents() -> Iterator[LabelledDoc]:
    """Markdown READMEs and docs of the installed Python packages (and wheel METADATA) and of Debian packages."""
    site = _site_packages()
    for meta in sorted(site.glob("*.dist-info/METADATA")):
        message = HeaderParser().parsestr(meta.read_text(encoding="utf-8", errors="replace"))
        body = message.get_payload()
        if "markdown" in (message.get("Description-Content-Type") or "").lower() and isinstance(body, str):
            group = "pypi:" + (message.get("Name") or meta.parent.name.split("-")[0]).lower().replace("_", "-")
            yield from _markdown(body, group, f"{meta.parent.name}/METADATA")
    for path in sorted(site.rglob("*.md")):
        if ".dist-info" not in str(path):
            rel = path.relative_to(site)
            yield from _markdown(path.read_text(errors="replace"), "pypi:" + rel.parts[0].lower(), str(rel))
    for path in sorted(DOC.rglob("*.md*")):
        if path.suffix in (".md", ".gz") and path.name.removesuffix(".gz").endswith(".md") and (t := _read(path)):
            yield from _markdown(t, "deb:" + path.relative_to(DOC).parts[0], str(path.relative_to(DOC)))


def _markdown(text: str, group: str, name: str) -> Iterator[LabelledDoc]:
    got = label_markdown(text)
    if got and (doc := _finish(*got, "markdown", group, name)):
        yield doc


# -------------------------------------------------------------------------------------------------------- reST

RST_CODE = re.compile(r"^(\s*)\.\.\s+(code-block|code|sourcecode|ipython|doctest)::")
RST_DIRECTIVE = re.compile(r"^\s*\.\.\s+\S+::")


def label_rest(text: str) -> tuple[list[str], list[str]] | None:
    """Lines and labels of a reST text with at least one literal block, with the literal marks taken off."""
    src = text.splitlines()
    lines: list[str] = []
    labels: list[str] = []
    i, blocks = 0, 0
    while i < len(src):
        line = src[i]
        directive = RST_CODE.match(line)
        literal = line.rstrip().endswith("::") and not RST_DIRECTIVE.match(line)
        if directive or literal:
            if literal and line.strip() != "::":
                lines.append(line.rstrip()[:-1])  # "Example::" -> "Example:"
                labels.append(PROSE)
            own = len(line) - len(line.lstrip())
            j = i + 1
            while j < len(src) and re.match(r"^\s+:[\w-]+:", src[j]):  # directive options
                j += 1
            while j < len(src) and not src[j].strip():
                j += 1
            block: list[str] = []
            while j < len(src) and (not src[j].strip() or len(src[j]) - len(src[j].lstrip()) > own):
                block.append(src[j])
                j += 1
            while block and not block[-1].strip():
                block.pop()
                j -= 1
            if block:
                lines += ["", *_dedent(block)]
                labels += [PROSE] + [CODE] * len(block)
                blocks += 1
            i = max(j, i + 1)
            continue
        if line.lstrip().startswith(".."):  # other directives, comments, targets: markup an extractor drops
            i += 1
            while i < len(src) and re.match(r"^\s+:[\w-]+:", src[i]):
                i += 1
            continue
        if line.lstrip().startswith(">>> ") and (not lines or not lines[-1].strip()):
            while i < len(src) and src[i].strip():
                lines.append(src[i].strip())
                labels.append(CODE)
                i += 1
            blocks += 1
            continue
        lines.append(line)
        labels.append(PROSE)
        i += 1
    return (lines, labels) if blocks else None


def rest_documents() -> Iterator[LabelledDoc]:
    """reST documentation of the installed Python packages (files and METADATA) and of Debian packages."""
    site = _site_packages()
    for meta in sorted(site.glob("*.dist-info/METADATA")):
        message = HeaderParser().parsestr(meta.read_text(encoding="utf-8", errors="replace"))
        body = message.get_payload()
        if "markdown" not in (message.get("Description-Content-Type") or "").lower() and isinstance(body, str):
            group = "pypi:" + (message.get("Name") or meta.parent.name.split("-")[0]).lower().replace("_", "-")
            yield from _rest(body, group, f"{meta.parent.name}/METADATA")
    for path in sorted(site.rglob("*.rst")):
        if ".dist-info" not in str(path):
            rel = path.relative_to(site)
            yield from _rest(path.read_text(errors="replace"), "pypi:" + rel.parts[0].lower(), str(rel))
    for path in sorted(DOC.rglob("*.rst*")):
        if path.name.removesuffix(".gz").endswith(".rst") and (t := _read(path)):
            yield from _rest(t, "deb:" + path.relative_to(DOC).parts[0], str(path.relative_to(DOC)))


def _rest(text: str, group: str, name: str) -> Iterator[LabelledDoc]:
    got = label_rest(text)
    if got and (doc := _finish(*got, "rest", group, name)):
        yield doc


# --------------------------------------------------------------------------------------------------- man pages

BEGIN, END, SKIP_BEGIN, SKIP_END = "CMCODEBEGINX", "CMCODEENDX", "CMSKIPBEGINX", "CMSKIPENDX"


def mark_roff(source: str, section: str) -> str:
    """The roff source with marker lines inside its code blocks (they render as lines of their own)."""
    out: list[str] = []
    heading = ""
    closing = ""
    macro = False
    for line in source.splitlines():
        if macro or line.startswith((".de ", ".de\t")):  # a macro's definition: its requests run elsewhere
            macro = line.strip() != ".."
            out.append(line)
            continue
        if line.startswith((".SH", ".Sh")):
            heading = line[3:].strip().strip('"').upper()
        request = line.split(" ")[0]
        if request in (".EE", ".Ve", ".fi") and closing:
            out += [closing, line]
            closing = ""
            continue
        out.append(line)
        if request in (".EX", ".Vb") and not closing:
            out.append(BEGIN)
            closing = END
        elif request == ".nf" and not closing:
            code = heading == "SYNOPSIS" and section in ("2", "3")
            out.append(BEGIN if code else SKIP_BEGIN)
            closing = END if code else SKIP_END
    return "\n".join(out) + "\n"


def render_roff(source: str) -> str | None:
    """Roff rendered to plain text by ``man`` (80 columns, overstrikes removed)."""
    env = {**os.environ, "MANWIDTH": "80", "MAN_KEEP_FORMATTING": "0", "LC_ALL": "C.UTF-8"}
    try:
        out = subprocess.run(
            ["man", "-l", "-"], input=source.encode(), capture_output=True, env=env, timeout=30, check=False
        )
        plain = subprocess.run(["col", "-bx"], input=out.stdout, capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return plain.stdout.decode("utf-8", errors="replace") if out.returncode == 0 else None


def label_man(rendered: str, section: str) -> tuple[list[str], list[str]] | None:
    """Lines and labels of a rendered, marked man page: body indent and the code blocks' own indent taken off.

    A command's synopsis (sections other than 2 and 3) is neither prose nor code: it is left out."""
    src = rendered.splitlines()[1:-1]  # no running header and footer
    lines: list[str] = []
    labels: list[str] = []
    state, block, blocks, synopsis = PROSE, [], 0, False
    for line in src:
        mark = line.strip()
        if line[:1].isupper() and line.upper() == line:
            synopsis = mark == "SYNOPSIS" and section not in ("2", "3")
        if mark in (BEGIN, SKIP_BEGIN):
            state, block = (CODE if mark == BEGIN else SKIP), []
            continue
        if mark in (END, SKIP_END):
            body = _dedent(block)
            lines += body
            labels += [state] * len(body)
            blocks += state == CODE
            state = PROSE
            continue
        if state == PROSE:
            lines.append(line.strip() if line.startswith("       ") else line)
            labels.append(SKIP if synopsis and mark != "SYNOPSIS" else PROSE)
        else:
            block.append(line)
    return (lines, labels) if blocks else None


def man_documents(per_section: int = 80) -> Iterator[LabelledDoc]:
    """Man pages of sections 1, 2, 3, 5, 7 and 8 with code blocks, rendered (``per_section`` sampled pages each)."""
    for section in ("1", "2", "3", "5", "7", "8"):
        folder = MAN / f"man{section}"
        pages = sorted(p for p in folder.iterdir() if p.is_file() and not p.is_symlink() and p.stat().st_size > 800)
        taken = 0
        for page in sorted(pages, key=lambda p: hashlib.sha1(p.name.encode()).hexdigest()):
            if taken >= per_section:
                break
            source = _read(page)
            if not source or not re.search(r"^\.(EX|Vb)\b", source, re.M):
                continue
            rendered = render_roff(mark_roff(source, section))
            got = label_man(rendered, section) if rendered else None
            base = page.name.split(".")[0]
            family = re.split(r"::|_|-", base)[0].lower()
            if got and (doc := _finish(*got, "man", f"man:{family}", f"man{section}/{page.name}")):
                taken += 1
                yield doc


# -------------------------------------------------------------------------------------------------------- HTML

BLOCKS = {"p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "br", "dt", "dd", "table", "ul", "ol",
          "blockquote", "section", "article", "header", "footer", "hr", "title"}  # fmt: skip
DROPPED = {"script", "style", "nav", "noscript", "svg", "head", "button"}


VOID = {"br", "img", "meta", "link", "input", "hr", "wbr", "col", "area", "base", "source", "embed"}


class _HTMLLines(HTMLParser):
    """Text of an HTML page as lines, as a web-page extractor gives it: ``<pre>`` kept line by line (code)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.labels: list[str] = []
        self.text: list[str] = []
        self.stack: list[str] = []
        self.drop_at: int | None = None  # depth of the dropped element being skipped
        self.pre = False

    def _flush(self) -> None:
        text = " ".join("".join(self.text).split())
        if text:
            self.lines.append(text)
            self.labels.append(PROSE)
        self.text = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID:
            if tag in ("br", "hr") and self.drop_at is None and not self.pre:
                self._flush()
            return
        self.stack.append(tag)
        if self.drop_at is not None:
            return
        given = dict(attrs)
        classes = f"{given.get('class') or ''} {given.get('id') or ''}"
        if tag in DROPPED or (tag in ("div", "aside") and re.search(r"sidebar|menu|\btoc\b|nav|help", classes)):
            self.drop_at = len(self.stack)
        elif tag == "pre":
            self._flush()
            self.pre = True
        elif tag in BLOCKS and not self.pre:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID or tag not in self.stack:
            return
        while self.stack:
            top = self.stack.pop()
            if self.drop_at is not None and len(self.stack) < self.drop_at:
                self.drop_at = None
                return
            if top == tag:
                break
        if self.drop_at is not None:
            return
        if tag == "pre" and self.pre:
            self.pre = False
            body = _dedent("".join(self.text).strip("\n").split("\n"))
            if any(x.strip() for x in body):
                self.lines += ["", *body, ""]
                self.labels += [PROSE, *[CODE] * len(body), PROSE]
            self.text = []
        elif tag in BLOCKS and not self.pre:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self.drop_at is None:
            self.text.append(data)

    def feed_page(self, page: str) -> tuple[list[str], list[str]]:
        self.feed(page)
        self.close()
        self._flush()
        return self.lines, self.labels


def label_html(page: str) -> tuple[list[str], list[str]] | None:
    """Lines and labels of an HTML page with at least one ``<pre>`` block."""
    lines, labels = _HTMLLines().feed_page(page)
    return (lines, labels) if CODE in labels else None


def _rust_books() -> list[Path]:
    try:
        root = subprocess.run(["rustc", "--print", "sysroot"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    html = Path(root.strip()) / "share/doc/rust/html"
    books = ("book", "cargo", "rust-by-example", "reference", "nomicon", "edition-guide", "embedded-book",
             "rustc", "rustdoc", "clippy", "style-guide")  # fmt: skip
    pages = [p for b in books if (html / b).is_dir() for p in sorted((html / b).rglob("*.html"))]
    return pages + sorted(html.glob("*faq*.html"))


def html_documents(per_group: int = 60) -> Iterator[LabelledDoc]:
    """HTML documentation: Rust's books (when a Rust toolchain ships them) and Debian packages' HTML docs."""
    counts: dict[str, int] = {}
    rust = [(p, "rust:" + p.parts[p.parts.index("html") + 1].removesuffix(".html")) for p in _rust_books()]
    debian = [(p, "deb:" + p.relative_to(DOC).parts[0]) for p in sorted(DOC.rglob("*.html"))]
    for path, group in sorted(rust + debian, key=lambda pg: hashlib.sha1(str(pg[0]).encode()).hexdigest()):
        if counts.get(group, 0) >= per_group and not FAQ.search(path.name):
            continue
        page = _read(path)
        got = label_html(page) if page else None
        if got and (doc := _finish(*got, "html", group, f"{group}/{path.name}")):
            counts[group] = counts.get(group, 0) + 1
            yield doc


# --------------------------------------------------------------------------------------------------------- POD

POD_CODE = re.compile(r"[A-Z]<{2,}\s+(.*?)\s+>{2,}|[A-Z]<([^<>]*)>")


def _pod_text(line: str) -> str:
    for _ in range(3):
        line = POD_CODE.sub(lambda m: (m.group(1) or m.group(2) or "").split("|")[0], line)
    return line


def label_pod(text: str) -> tuple[list[str], list[str]] | None:
    """Lines and labels of the POD in a Perl file: verbatim paragraphs are code; commands become text lines."""
    lines: list[str] = []
    labels: list[str] = []
    inside = False
    paragraph: list[str] = []

    def flush() -> None:
        if not paragraph:
            return
        if paragraph[0][:1] in (" ", "\t"):
            lines.extend(_dedent(paragraph))
            labels.extend([CODE] * len(paragraph))
        else:
            for x in paragraph:
                lines.append(_pod_text(re.sub(r"^=(head\d|item)\s*", "", x)))
                labels.append(SKIP if x.startswith(("=over", "=back", "=begin", "=end", "=for")) else PROSE)
        paragraph.clear()

    for line in text.splitlines():
        if line.startswith("=cut"):
            flush()
            inside = False
            continue
        if not inside:
            inside = bool(re.match(r"^=[a-zA-Z]", line))
            if not inside:
                continue
        if line.startswith("=pod"):
            continue
        if not line.strip():
            flush()
            lines.append("")
            labels.append(PROSE)
        else:
            paragraph.append(line)
    flush()
    return (lines, labels) if CODE in labels else None


def pod_documents(per_group: int = 4) -> Iterator[LabelledDoc]:
    """POD documentation of the Perl modules and ``.pod`` files Debian installed."""
    counts: dict[str, int] = {}
    files = sorted(p for root in PERL_ROOTS if root.is_dir() for p in root.rglob("*") if p.suffix in (".pm", ".pod"))
    for path in files:
        root = next(r for r in PERL_ROOTS if path.is_relative_to(r))
        rel = path.relative_to(root)
        parts = [p for p in rel.parts if not re.fullmatch(r"[\d.]+", p)]
        group = "perl:" + (parts[0].removesuffix(".pm").removesuffix(".pod") if parts else path.stem)
        if counts.get(group, 0) >= per_group and not FAQ.search(path.name):
            continue
        text = _read(path)
        got = label_pod(text) if text else None
        if got and (doc := _finish(*got, "pod", group, "/".join(parts))):
            counts[group] = counts.get(group, 0) + 1
            yield doc


# ------------------------------------------------------------------------------------- code read as interleaved


DOCSTRING_QUOTES = re.compile(r'^[rRbBuUfF]{0,2}("""|\'\'\')|("""|\'\'\')$')


def label_python(text: str) -> tuple[list[str], list[str]] | None:
    """A Python file as text: comments and docstrings are prose (``>>>`` lines in them are code), the rest code."""
    import ast

    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    src = text.splitlines()
    doc_lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            value = first.value if isinstance(first, ast.Expr) else None
            if isinstance(value, ast.Constant) and isinstance(value.value, str) and first.end_lineno:
                doc_lines.update(range(first.lineno - 1, first.end_lineno))
    return _interleave(src, doc_lines, "#")


def label_go(text: str) -> tuple[list[str], list[str]] | None:
    """A Go file as text: ``//`` comment lines are prose, the rest code."""
    return _interleave(text.splitlines(), set(), "//")


def _interleave(src: list[str], doc_lines: set[int], comment: str) -> tuple[list[str], list[str]] | None:
    from codemill.curate.filters.code_removal import code_line_score

    lines: list[str] = []
    labels: list[str] = []
    base = 0
    for k, line in enumerate(src):
        stripped = line.strip()
        if k in doc_lines:
            opening = k == 0 or k - 1 not in doc_lines
            text = DOCSTRING_QUOTES.sub("", stripped).strip()
            if opening:
                base = len(line) - len(line.lstrip())
            deeper = not opening and bool(stripped) and len(line) - len(line.lstrip()) > base
            code = text.startswith((">>>", "... "))
            lines.append(text)
            labels.append(CODE if code else SKIP if deeper else PROSE)  # a deeper block: an example or a list
        elif stripped.startswith(comment):
            text = stripped[len(comment) :].strip()
            lines.append(text)
            labels.append(SKIP if code_line_score(text) >= 0.85 or not text.strip("-=#*/ ") else PROSE)
        else:
            lines.append(line)
            labels.append(CODE)
    has_both = CODE in labels and PROSE in labels
    return (lines, labels) if has_both and labels.count(PROSE) >= 5 else None


def source_documents(per_group: int = 3) -> Iterator[LabelledDoc]:
    """Python's standard library and Go's, read as text interleaving prose (comments, docstrings) with code."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    roots: list[tuple[Path, str, str]] = [(stdlib, "*.py", "py")]
    try:
        goroot = subprocess.run(["go", "env", "GOROOT"], capture_output=True, text=True, timeout=30).stdout.strip()
        if goroot:
            roots.append((Path(goroot) / "src", "*.go", "go"))
    except (OSError, subprocess.TimeoutExpired):
        pass
    for root, pattern, lang in roots:
        counts: dict[str, int] = {}
        for path in sorted(root.rglob(pattern), key=lambda p: hashlib.sha1(str(p).encode()).hexdigest()):
            rel = path.relative_to(root)
            if any(p in ("test", "tests", "testdata", "site-packages", "vendor") for p in rel.parts):
                continue
            group = f"{lang}:{rel.parts[0].removesuffix('.py')}"
            if counts.get(group, 0) >= per_group:
                continue
            text = _read(path)
            got = (label_python if lang == "py" else label_go)(text) if text else None
            if got and (doc := _finish(*got, "source", group, f"{lang}/{rel}")):
                counts[group] = counts.get(group, 0) + 1
                yield doc


# ------------------------------------------------------------------------------------------------- plain prose


def prose_documents(cap: int = 300) -> Iterator[LabelledDoc]:
    """Text without code: licences, Debian changelogs and Git's release notes (mailing-list announcements)."""
    sources: list[tuple[Path, str]] = [(p, "licence") for p in sorted(Path("/usr/share/common-licenses").glob("*"))]
    sources += [(p / "copyright", "copyright") for p in sorted(DOC.iterdir()) if (p / "copyright").is_file()]
    sources += [(p / "changelog.Debian.gz", "changelog") for p in sorted(DOC.iterdir())
                if (p / "changelog.Debian.gz").is_file()]  # fmt: skip
    sources += [(p, "relnotes") for p in sorted((DOC / "git" / "RelNotes").glob("*"))]
    taken: dict[str, int] = {}
    for path, what in sorted(sources, key=lambda pw: hashlib.sha1(str(pw[0]).encode()).hexdigest()):
        if taken.get(what, 0) >= cap or path.is_symlink():
            continue
        text = _read(path)
        if not text:
            continue
        lines = text.splitlines()
        group = f"{what}:{path.parent.name if what in ('copyright', 'changelog') else path.name}"
        if doc := _finish(lines, [PROSE] * len(lines), "prose", group, f"{what}/{group.split(':', 1)[1]}"):
            taken[what] = taken.get(what, 0) + 1
            yield doc


BUILDERS = {
    "markdown": markdown_documents,
    "rest": rest_documents,
    "man": man_documents,
    "html": html_documents,
    "pod": pod_documents,
    "source": source_documents,
    "prose": prose_documents,
}


def labelled_documents(kinds: tuple[str, ...] = KINDS) -> Iterator[LabelledDoc]:
    """Every labelled document of the given kinds, in a fixed order; identical documents are kept once."""
    seen: set[str] = set()
    for kind in kinds:
        for doc in BUILDERS[kind]():
            digest = hashlib.sha1("\n".join(doc.lines).encode()).hexdigest()
            if digest not in seen:
                seen.add(digest)
                yield doc


def load_documents(cache: Path, rebuild: bool = False) -> list[LabelledDoc]:
    """The labelled documents, built once and kept in ``cache`` (gzipped JSON lines): man pages take minutes."""
    if cache.is_file() and not rebuild:
        with gzip.open(cache, "rt", encoding="utf-8") as f:
            return [LabelledDoc(**json.loads(line)) for line in f]
    docs = list(labelled_documents())
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(cache.name + ".tmp")
    with gzip.open(tmp, "wt", encoding="utf-8") as f:
        for doc in docs:
            f.write(json.dumps(doc.__dict__, ensure_ascii=False) + "\n")
    tmp.replace(cache)
    return docs


def line_scores(pairs: Iterable[tuple[Sequence[str], Sequence[str], Sequence[bool]]]) -> dict[str, float | int]:
    """Line precision and recall of code over (lines, labels, predicted) triples: blank and ``skip`` lines
    are not counted; ``prose_lost_per_1000`` is prose lines predicted code per 1,000 counted lines."""
    tp = fp = fn = counted = 0
    for lines, labels, predicted in pairs:
        for line, label, code in zip(lines, labels, predicted, strict=True):
            if not line.strip() or label == SKIP:
                continue
            counted += 1
            tp += code and label == CODE
            fp += code and label == PROSE
            fn += not code and label == CODE
    return {
        "lines": counted,
        "code_lines": tp + fn,
        "precision": round(tp / (tp + fp), 4) if tp + fp else 1.0,
        "recall": round(tp / (tp + fn), 4) if tp + fn else 1.0,
        "prose_lost_per_1000": round(1000 * fp / counted, 2) if counted else 0.0,
    }
