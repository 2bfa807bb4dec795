"""The outline a Markdown or DOCX file gives: headings become header sections, the text between them text sections."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from .documents import NewSection


@dataclass
class Parsed:
    """What a Markdown or DOCX file holds: its sections, and a title and description if the file names them."""

    sections: list[NewSection] = field(default_factory=list)
    title: str | None = None
    description: str = ""
    # A heading that opens the file as its title (Markdown "# Title", a DOCX "Title" paragraph; it is
    # sections[0]) and the sections when it names the document: None when it stays a section all the same.
    lead_title: str | None = None
    untitled: list[NewSection] | None = None
    title_in_text: bool = False  # the title is the text of the file, and keeps a heading's length limit


def named_by_lead(parsed: Parsed) -> Parsed:
    """The outline with its opening title heading as the document's title (not as a section when only that).

    The file's own title property wins; a heading equal to it is that title again, not one more section.
    """
    lead = parsed.lead_title
    if not lead:
        return parsed
    if parsed.title and " ".join(parsed.title.split()) != lead:
        return parsed
    sections = parsed.sections if parsed.untitled is None else parsed.untitled
    return replace(parsed, sections=sections, title=lead, title_in_text=True, lead_title=None, untitled=None)


class SectionBuilder:
    """Collects headings and the blocks of text between them into sections."""

    def __init__(self) -> None:
        self.sections: list[NewSection] = []
        self.level = 1
        self._kind = "text"
        self._blocks: list[str] = []

    @property
    def empty(self) -> bool:
        """Nothing read yet but blank text: a heading now opens the file."""
        return not self.sections and not self._blocks

    def heading(self, level: int, title: str) -> None:
        self.flush()
        self.level = min(6, max(1, level))
        self.sections.append(NewSection(title=title, content="", type="header", level=self.level))

    def block(self, text: str, kind: str = "text") -> None:
        """Add a block of text; blocks of the same kind in a row make one section."""
        text = _trim_blank_lines(text)
        if not text:
            return
        if kind != self._kind:
            self.flush()
            self._kind = kind
        self._blocks.append(text)

    def flush(self) -> None:
        if self._blocks:
            self.sections.append(NewSection(title="", content="\n\n".join(self._blocks), type=self._kind,
                                            level=self.level))
        self._blocks = []


def _trim_blank_lines(text: str) -> str:
    lines = text.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(line.rstrip() for line in lines)
