"""Extract a plan and its tasks from the plain text of a Chinese policy document.

Pure standard-library code for ``POST /api/v1/tasks/plans/import``: the caller
hands over the text of a 实施方案 / 工作要点 and stores what comes back.

How a document is read:

* every line starting with a numbering (``一、`` ``（一）`` ``1.`` ``1、`` ``1``
  ``（1）`` ``1)`` ``①``) opens an item; an item whose numbering style is already
  open closes that level (a sibling), any other style nests under the last item;
* label parts (牵头领导 / 牵头单位 / 责任单位 / 配合单位 / 完成时限 ...) are read
  from their own lines after an item, inline after the task sentence, or inside
  brackets; a heading's labels are inherited by its sub-items;
* an item with sub-items is a heading; a leaf item is a task when it or one of
  its leaf siblings carries labels (so unlabelled numbered lists are not tasks).
"""

from __future__ import annotations

import calendar
import datetime
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ExtractedTask:
    number: str
    section: str | None
    title: str
    lead_officials: list[str]
    lead_units: list[str]
    cooperating_units: list[str]
    due_text: str | None
    due_on: datetime.date | None
    line: int
    detail: str = ""  # the full task text (without numbering and labels), for a description


@dataclass(frozen=True)
class Unplaced:
    line: int
    text: str
    reason: str


@dataclass(frozen=True)
class ExtractedPlan:
    title: str | None
    document_no: str | None
    tasks: list[ExtractedTask]
    unplaced: list[Unplaced]


# Traditional -> simplified, only for characters used in the patterns below.
# It maps one character to one character, so match positions stay valid.
_TRAD = str.maketrans(
    "牽頭單責門領導時間節點縣區級鎮鄉見劃計規辦協與參發號內",
    "牵头单责门领导时间节点县区级镇乡见划计规办协与参发号内",
)
_TRIM = " \t\u3000;；,，。.、:："
_OPEN, _CLOSE = "（(【", "）)】"
_NAME_OPEN, _NAME_CLOSE = "（(【[〔《“", "）)】]〕》”"
_NAME_SEPARATORS = "、，,；;/ \t\u3000"
_HEAD_LINES = 60

_CN = "一二三四五六七八九十"
# a bare "25户" or "3个" is a quantity, not the numbering "1深入实施..."
_NOT_AFTER_BARE_NUMBER = (
    "年月日号时个万千百亿名人户次项条座公米元台家所批期届天周余多岁倍级类" + "县区市乡镇村组省"
)
_NUMBERINGS = (
    ("cn_paren", re.compile(rf"[（(]([{_CN}]{{1,3}})[）)]\s*")),
    ("ar_paren", re.compile(r"[（(]?(\d{1,2})[）)]\s*")),
    ("circled", re.compile(r"([\u2460-\u2473])[、.．]?\s*")),
    ("cn_dun", re.compile(rf"([{_CN}]{{1,3}})[、.．]\s*")),
    ("arabic", re.compile(r"(\d{1,2})(?:、|[.．](?!\d)|\s+)\s*")),
    ("arabic", re.compile(rf"(\d{{1,2}})(?=[\u4e00-\u9fff])(?![{_NOT_AFTER_BARE_NUMBER}])")),
)

_LABEL_KEYS = (
    r"牵头(?:[省市州县区旗镇乡]级)?(?:领导|负责人)|(?:责任|分管|包保|挂点)领导"
    r"|牵头(?:单位|部门)|责任(?:单位|部门|主体)|主责(?:单位|部门)"
    r"|(?:配合|协办|协助|参与)(?:单位|部门)|完成时限|完成时间|时间节点|时限要求|时限"
)
_LABEL = re.compile(rf"【?(?P<key>{_LABEL_KEYS})(?:】\s*[:：]?|\s*[:：])")
_LEAD_PHRASE = re.compile(
    r"由?(?P<lead>[^，,；;]+?)牵头(?:[，,；;、]\s*(?P<coop>.+?)(?:配合|参与|协助|协办))?"
)
_LEAD_MARK = re.compile(r"[（(]牵头[）)]$")
_CHROME = re.compile(
    r"上一篇|下一篇|打印本页|关闭窗口|当前位置|分享到|扫一扫|浏览次数|浏览量|字号[:：]|【字体"
    r"|发布时间|发布日期|信息来源|责任编辑|网站标识|ICP备|公网安备|版权所有"
    r"|^(?:首页|打印|关闭|返回|来源[:：]|主办[:：]|承办[:：])"
)
_TITLE_SUFFIX = r"(?:方案|要点|意见|计划|规划|办法)"
_QUOTED_TITLE = re.compile(rf"《([^《》]{{2,60}}?{_TITLE_SUFFIX})》")
_STANDALONE_TITLE = re.compile(rf"[^。，,：:；;！？!?]{{2,50}}{_TITLE_SUFFIX}")
_DOCUMENT_NO = re.compile(r"[\u4e00-\u9fff]{1,10}[〔\[［【(（]\s*\d{4}\s*[〕\]］】)）]\s*\d{1,4}\s*号")
_DATE = re.compile(
    r"(?:(?P<y>\d{4})\s*年\s*)?"
    r"(?:(?P<m>\d{1,2})\s*月\s*(?:(?P<d>\d{1,2})\s*[日号]|(?P<part>上旬|中旬|下旬|底|末))?"
    r"|(?P<half>上半年|下半年)|第?(?P<q>[一二三四1-4])季度|年?(?<=年)(?P<end>底|末|内))"
)
_ISO_DATE = re.compile(r"(?<!\d)(\d{4})[-./](\d{1,2})[-./](\d{1,2})(?!\d)")
_YEAR = re.compile(r"(?:19|20)\d{2}")


def extract_plan(text: str, *, default_year: int | None = None) -> ExtractedPlan:
    """Read the plan title, document number, tasks and unplaceable labels from ``text``."""
    lines = _clean_lines(text)
    title, document_no = _find_title(lines), _find_document_no(lines)
    year = _document_year(title, document_no, default_year)
    outline = _Outline()
    for number, line in lines:
        outline.feed(number, line)
    collector = _TaskCollector(year, outline.unplaced)
    collector.collect(outline.roots)
    unplaced = sorted(collector.unplaced, key=lambda item: item.line)
    return ExtractedPlan(title=title, document_no=document_no, tasks=collector.tasks, unplaced=unplaced)


# --- lines, title, document number -------------------------------------------------------


def _clean_lines(text: str) -> list[tuple[int, str]]:
    """Non-empty, non-chrome lines with their 1-based line numbers."""
    out = []
    raw_lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for number, raw in enumerate(raw_lines, start=1):
        line = raw.replace("\u200b", "").replace("\ufeff", "").strip()
        if line and not _is_chrome(line):
            out.append((number, line))
    return out


def _is_chrome(line: str) -> bool:
    """Short navigation / footer lines of a web-page capture."""
    return len(line) <= 60 and _CHROME.search(line.translate(_TRAD)) is not None


def _find_title(lines: list[tuple[int, str]]) -> str | None:
    for _, line in lines[:_HEAD_LINES]:
        view = line.translate(_TRAD)
        quoted = _QUOTED_TITLE.search(view)
        if quoted:
            return line[quoted.start(1) : quoted.end(1)].strip()
        if _STANDALONE_TITLE.fullmatch(view) and _match_numbering(line) is None:
            return line
    return None


def _find_document_no(lines: list[tuple[int, str]]) -> str | None:
    """A document number such as 大扶办发〔2019〕23号 at the start of a heading line."""
    for _, line in lines[:_HEAD_LINES]:
        found = _DOCUMENT_NO.match(line.translate(_TRAD))
        if found:
            return line[: found.end()]
    return None


def _document_year(title: str | None, document_no: str | None, default: int | None) -> int | None:
    for source in (title, document_no):
        found = _YEAR.search(source or "")
        if found:
            return int(found.group())
    return default


# --- numbering and labels ------------------------------------------------------------------


def _match_numbering(line: str) -> tuple[str, str, str] | None:
    """Return (style, number, rest of line) when ``line`` starts with a numbering."""
    for kind, pattern in _NUMBERINGS:
        found = pattern.match(line)
        if found:
            value = found.group(1)
            number = f"（{value}）" if kind.endswith("paren") else value
            return kind, number, line[found.end() :].strip()
    return None


def _label_kind(key: str) -> str:
    if key.endswith(("领导", "负责人")):
        return "official"
    if key.startswith("牵头"):
        return "lead"
    if key.startswith(("责任", "主责")):
        return "resp"
    if key.startswith(("配合", "协办", "协助", "参与")):
        return "coop"
    return "due"


def _parse_segment(text: str) -> list[tuple[str, str]]:
    """Split 'key：value key：value ...' into (kind, raw value) pairs."""
    matches = list(_LABEL.finditer(text.translate(_TRAD)))
    labels = []
    for current, following in zip(matches, [*matches[1:], None], strict=True):
        end = following.start() if following else len(text)
        labels.append((_label_kind(current["key"]), text[current.end() : end].strip()))
    return labels


def _bracket_labels(inner: str) -> list[tuple[str, str]]:
    """Labels inside one bracket group: '责任单位：X，完成时限：Y' or 'X牵头，Y配合'."""
    inner = inner.strip()
    view = inner.translate(_TRAD)
    if _LABEL.match(view):
        return _parse_segment(inner)
    phrase = _LEAD_PHRASE.fullmatch(view)
    if not phrase:
        return []
    labels = [("lead", inner[phrase.start("lead") : phrase.end("lead")])]
    if phrase["coop"]:
        labels.append(("coop", inner[phrase.start("coop") : phrase.end("coop")]))
    return labels


def _bracket_groups(text: str) -> Iterator[tuple[int, int]]:
    """Spans of the top-level bracket groups in ``text`` (nesting allowed)."""
    depth, start = 0, 0
    for index, char in enumerate(text):
        if char in _OPEN:
            start = index if depth == 0 else start
            depth += 1
        elif char in _CLOSE and depth:
            depth -= 1
            if depth == 0:
                yield start, index + 1


def _split_labels(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Separate a line's task text from its label parts (bracketed, then inline)."""
    labels: list[tuple[str, str]] = []
    kept, last = [], 0
    for start, end in _bracket_groups(text):
        found = _bracket_labels(text[start + 1 : end - 1])
        if found:
            labels += found
            kept.append(text[last:start])
            last = end
    kept.append(text[last:])
    rest = "".join(kept)
    inline = _LABEL.search(rest.translate(_TRAD))
    if inline:
        labels = _parse_segment(rest[inline.start() :]) + labels
        rest = rest[: inline.start()]
    return rest.strip(_TRIM), labels


def _split_names(value: str) -> list[str]:
    """Split a unit/official list on 、，,；; and spaces, never inside brackets."""
    parts, buffer, depth = [], [], 0
    for char in value:
        depth = max(0, depth + (char in _NAME_OPEN) - (char in _NAME_CLOSE))
        if depth == 0 and char in _NAME_SEPARATORS:
            parts.append("".join(buffer))
            buffer = []
        else:
            buffer.append(char)
    parts.append("".join(buffer))
    names = (re.sub(r"等(?:相关)?(?:部门|单位)?$", "", part.strip(_TRIM)) for part in parts)
    return _dedupe(name.strip(_TRIM) for name in names)


def _dedupe(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(value for value in values if value))


# --- dates --------------------------------------------------------------------------------


def _parse_due(text: str, year: int | None) -> datetime.date | None:
    """The latest date named in a 完成时限 text, or None."""
    view = text.translate(_TRAD)
    dates = [_safe_date(*map(int, found.groups())) for found in _ISO_DATE.finditer(view)]
    for found in _DATE.finditer(view):
        year = int(found["y"]) if found["y"] else year
        dates.append(_date_from_match(found, year))
    if not any(dates):
        bare_year = re.search(r"(\d{4})\s*年", view)
        dates.append(_safe_date(int(bare_year.group(1)), 12, 31) if bare_year else None)
    return max((value for value in dates if value), default=None)


def _date_from_match(found: re.Match[str], year: int | None) -> datetime.date | None:
    if year is None:
        return None
    if found["m"]:
        month = int(found["m"])
        if found["d"]:
            return _safe_date(year, month, int(found["d"]))
        day = {"上旬": 10, "中旬": 20}.get(found["part"] or "")
        return _safe_date(year, month, day) if day else _month_end(year, month)
    if found["half"]:
        return _month_end(year, 6 if found["half"] == "上半年" else 12)
    if found["q"]:
        quarter = "一二三四".find(found["q"]) + 1 or int(found["q"])
        return _month_end(year, 3 * quarter)
    return datetime.date(year, 12, 31)


def _month_end(year: int, month: int) -> datetime.date | None:
    if not 1 <= month <= 12:
        return None
    return datetime.date(year, month, calendar.monthrange(year, month)[1])


def _safe_date(year: int, month: int, day: int) -> datetime.date | None:
    try:
        return datetime.date(year, month, day)
    except ValueError:
        return None


# --- outline ------------------------------------------------------------------------------


@dataclass(eq=False)
class _Item:
    number: str
    kind: str
    text: str
    line: int
    raw: str
    labels: list[tuple[str, str]] = field(default_factory=list)
    parent: _Item | None = None
    children: list[_Item] = field(default_factory=list)
    body: list[str] = field(default_factory=list)
    state: str = "open"  # open (no labels yet) -> labelled -> closed (text after labels)


class _Outline:
    """The numbered items of a document, built line by line."""

    def __init__(self) -> None:
        self.roots: list[_Item] = []
        self.stack: list[_Item] = []
        self.current: _Item | None = None
        self.unplaced: list[Unplaced] = []

    def feed(self, number: int, line: str) -> None:
        numbered = _match_numbering(line)
        text, labels = _split_labels(numbered[2] if numbered else line)
        state = "labelled" if labels else "open"
        if numbered:
            self._open(_Item(numbered[1], numbered[0], text, number, line, labels, state=state))
        elif text and labels and not self._takes_body():
            self._open(_Item("", "none", text, number, line, labels, state=state), nest=False)
        elif text:
            self._add_text(text, labels)
        elif labels:
            self._add_labels(labels, number, line)

    def _takes_body(self) -> bool:
        return self.current is not None and self.current.state == "open"

    def _open(self, item: _Item, nest: bool = True) -> None:
        if nest:
            for index, open_item in enumerate(self.stack):
                if open_item.kind == item.kind:
                    del self.stack[index:]
                    break
            item.parent = self.stack[-1] if self.stack else None
            self.stack.append(item)
        else:  # an unnumbered task is a sibling of the last item
            item.parent = self.current.parent if self.current else None
        (item.parent.children if item.parent else self.roots).append(item)
        self.current = item

    def _add_text(self, text: str, labels: list[tuple[str, str]]) -> None:
        item = self.current
        if item is None:
            return  # preamble before the first numbered item
        if item.state == "open":
            item.body.append(text)
            item.labels += labels
            item.state = "labelled" if labels else "open"
        elif item.state == "labelled" and item.labels[-1][1].endswith(("、", "，", ",")):
            kind, value = item.labels[-1]  # a label list wrapped onto the next line
            item.labels[-1] = (kind, value + text)
        else:
            item.state = "closed"

    def _add_labels(self, labels: list[tuple[str, str]], number: int, line: str) -> None:
        item = self.current
        if item is None or item.state == "closed":
            self.unplaced.append(Unplaced(number, line, "label_without_task"))
            return
        item.labels += labels
        item.state = "labelled"


# --- tasks --------------------------------------------------------------------------------


class _TaskCollector:
    """Turns the labelled leaves of the outline into tasks, in document order."""

    def __init__(self, year: int | None, unplaced: list[Unplaced]) -> None:
        self.year = year
        self.tasks: list[ExtractedTask] = []
        self.unplaced = unplaced

    def collect(self, items: list[_Item], section: str | None = None) -> None:
        leaves = [item for item in items if not item.children]
        is_task_group = any(_effective_labels(item) for item in leaves)
        at_heading_level = len(leaves) < len(items)  # a leaf among headings is its own section
        for item in items:
            if item.children:
                self.collect(item.children, item.number or None)
            elif is_task_group:
                self._emit(item, (item.number or None) if at_heading_level else section)

    def _emit(self, item: _Item, section: str | None) -> None:
        detail = "\n".join(part for part in (item.text, *item.body) if part)
        title = detail.split("\n", 1)[0].split("。", 1)[0].strip(_TRIM)
        if not title:
            self.unplaced.append(Unplaced(item.line, item.raw, "task_without_title"))
            return
        task = _build_task(item, section, title, detail, self.year)
        self.tasks.append(task)
        if not task.lead_units:
            self.unplaced.append(Unplaced(item.line, item.raw, "task_without_lead"))


def _effective_labels(item: _Item) -> list[tuple[str, str]]:
    """The item's own labels plus, per kind it lacks, the nearest heading's."""
    labels = list(item.labels)
    kinds = {kind for kind, _ in labels}
    node = item.parent
    while node is not None:
        inherited = [(kind, value) for kind, value in node.labels if kind not in kinds]
        labels += inherited
        kinds |= {kind for kind, _ in inherited}
        node = node.parent
    return labels


def _build_task(item: _Item, section: str | None, title: str, detail: str, year: int | None) -> ExtractedTask:
    labels = _effective_labels(item)

    def names(kind: str) -> list[str]:
        return _dedupe(name for key, value in labels if key == kind for name in _split_names(value))

    lead, responsible, cooperating = names("lead"), names("resp"), names("coop")
    if not lead:  # 责任单位：县交通局（牵头）、县财政局
        lead = [_LEAD_MARK.sub("", name) for name in responsible if _LEAD_MARK.search(name)]
        responsible = [name for name in responsible if not _LEAD_MARK.search(name)]
    if lead:  # 责任单位 next to a 牵头单位 are the ones doing the work with it
        cooperating = _dedupe([*cooperating, *responsible])
    else:
        lead = responsible
    due_values = (value.strip(_TRIM) for kind, value in labels if kind == "due")
    due_text = next((value for value in due_values if value), None)
    return ExtractedTask(
        number=item.number,
        section=section,
        title=title,
        lead_officials=names("official"),
        lead_units=lead,
        cooperating_units=cooperating,
        due_text=due_text,
        due_on=_parse_due(due_text, year) if due_text else None,
        line=item.line,
        detail=detail,
    )
