"""Terminal output shared by every ``valiqor`` command: tables, trees and progress bars (``rich``), and CSV.

Colour only when stdout is a terminal (rich decides, and honours ``NO_COLOR``/``FORCE_COLOR``); widths from
the terminal, or ``COLUMNS``. Progress goes to stderr and only when stderr is a terminal, so piped output and
logs stay clean. Text that comes from traces, datasets or models is shown as it is: never read as rich
markup, and with control characters (an escape sequence, a carriage return) written out as ``\\x1b``,
``\\r``, so a span name cannot restyle or rewrite the terminal.
"""

from __future__ import annotations

import csv
import io
import sys
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any, BinaryIO

from rich import box
from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Column, Table
from rich.text import Text

# Bidirectional overrides and isolates reorder what a terminal shows ("trojan source"): written out too.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def printable(value: object, *, newlines: bool = False) -> str:
    """``value`` as text a terminal shows literally: control characters written as escapes (``\\x1b``).

    Tabs become spaces; line breaks are kept with ``newlines``, else written as ``\\n``.
    """
    text = "" if value is None else str(value)
    if text.isprintable() and not (_BIDI_CONTROLS & set(text)):
        return text
    out = []
    for char in text:
        if char == "\t":
            out.append(" ")
        elif char == "\n" and newlines:
            out.append(char)
        elif char in _BIDI_CONTROLS or unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            out.append(repr(char)[1:-1] if char != "\n" else "\\n")
        else:
            out.append(char)
    return "".join(out)


def plain(value: object, style: str = "", *, newlines: bool = False) -> Text:
    """Untrusted text as a rich ``Text``: never parsed as markup, control characters escaped."""
    return Text(printable(value, newlines=newlines), style=style)


def stdout_console(*, width: int | None = None) -> Console:
    """The console a command prints its report to (colour when stdout is a terminal, none when piped)."""
    return Console(width=width, highlight=False, emoji=False, markup=False, soft_wrap=False)


def stderr_console() -> Console:
    return Console(stderr=True, highlight=False, emoji=False, markup=False)


def print_renderable(renderable: RenderableType) -> None:
    """Print to stdout: coloured on a terminal; plain when piped, without the cells' trailing padding."""
    console = stdout_console()
    if console.is_terminal:
        console.print(renderable)
    else:
        print(render(renderable, width=console.width))
    sys.stdout.flush()


def render(renderable: RenderableType, *, width: int | None = None) -> str:
    """What ``renderable`` prints as, without colour: ``width`` columns, else the terminal's (or ``COLUMNS``)."""
    buffer = io.StringIO()
    columns = width or Console(file=sys.stdout).width
    console = Console(file=buffer, width=columns, color_system=None, highlight=False, emoji=False, markup=False,
                      force_terminal=False, soft_wrap=False)
    console.print(renderable)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines())


@dataclass(frozen=True)
class TableColumn:
    """One column of a :func:`table`: its header, how to read a row's cell, and its alignment.

    ``cell`` returns text (escaped when shown) or a rich ``Text`` already made safe (styled cells).
    """

    header: str
    cell: Callable[[Any], object]
    justify: str = "left"  # left | right
    no_wrap: bool = False  # ids, numbers, times: never broken across lines
    min_width: int | None = None


def table(columns: Sequence[TableColumn], rows: Iterable[Any]) -> Table:
    """A borderless table, header over its column; long cells wrap at word boundaries rather than being cut.

    A ``no_wrap`` column (ids, numbers) is as wide as its widest cell whatever the terminal: an id is never
    cut, so it can be copied; on a narrow terminal the other columns wrap more.
    """
    cells = [[_cell(column.cell(row)) for column in columns] for row in rows]
    widths = [max([len(column.header), *(cell.cell_len for cell in col_cells)])
              for column, col_cells in zip(columns, zip(*cells) if cells else [() for _ in columns])]
    grid = Table(*[Column(c.header, justify=c.justify, no_wrap=c.no_wrap, overflow="fold",  # type: ignore[arg-type]
                          min_width=width if c.no_wrap else c.min_width) for c, width in zip(columns, widths)],
                 box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True, header_style="bold",
                 expand=False)
    for row_cells in cells:
        grid.add_row(*row_cells)
    return grid


def _cell(value: object) -> Text:
    if isinstance(value, Text):
        return value
    return plain("-" if value is None else value)


def longest_word(texts: Iterable[str]) -> int:
    """The width a column needs so that none of its words is broken across lines."""
    return max((len(word) for text in texts for word in text.split()), default=1)


def write_csv(stream: IO[str], fieldnames: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> None:
    """Rows as CSV with a header line; ``None`` is an empty cell, lists are joined with ``; ``."""
    writer = csv.DictWriter(stream, fieldnames=list(fieldnames), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: _csv_cell(value) for key, value in row.items()})


def _csv_cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "; ".join(str(part) for part in value)
    return value


class _RateColumn(ProgressColumn):
    """Items a second, once there are enough to tell."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        return Text("" if task.speed is None else f"{task.speed:,.0f} {self.unit}/s", style="progress.data.speed")


class ProgressBar:
    """A progress bar on stderr (done/total, rate, time left); does nothing when stderr is not a terminal.

    It shows from the first :meth:`update` (or :meth:`reading`) until :meth:`stop`, which leaving the
    ``with`` block calls; :meth:`note` prints a line above the bar.
    """

    def __init__(self, description: str, *, unit: str = "items", in_bytes: bool = False,
                 console: Console | None = None) -> None:
        self.console = console or stderr_console()
        self.enabled = self.console.is_terminal
        columns: list[ProgressColumn | str] = [TextColumn("{task.description}"), BarColumn()]
        if in_bytes:
            columns += [DownloadColumn(), TransferSpeedColumn()]
        else:
            columns += [MofNCompleteColumn(), _RateColumn(unit)]
        columns += [TextColumn("eta"), TimeRemainingColumn()]
        # stdout is redirected above the bar only when it shares the terminal; piped, it must stay stdout
        self._progress = Progress(*columns, console=self.console, disable=not self.enabled, transient=False,
                                  redirect_stdout=sys.stdout.isatty())
        self._task: TaskID | None = None
        self._description = description
        self._started = False

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _start(self) -> None:
        if not self._started:
            self._started = True
            self._progress.start()

    def stop(self) -> None:
        """Leave the bar as it last was (a later :meth:`update` draws it again, on a new line)."""
        if self._started:
            self._started = False
            self._progress.stop()

    def update(self, completed: float, total: float | None = None, *, description: str | None = None) -> None:
        if not self.enabled:
            return
        self._start()
        if self._task is None:
            self._task = self._progress.add_task(printable(description or self._description), total=total)
        fields: dict[str, Any] = {"completed": completed, "total": total}
        if description is not None:
            fields["description"] = printable(description)
        self._progress.update(self._task, **fields)

    def reading(self, handle: BinaryIO, total: int) -> BinaryIO:
        """``handle``, advancing this bar (in bytes) as it is read; itself when the bar is off."""
        if not self.enabled:
            return handle
        self._start()
        self._task = self._progress.add_task(printable(self._description), total=total)
        return self._progress.wrap_file(handle, total=total, task_id=self._task)

    def note(self, message: str) -> None:
        """A line on stderr, above the bar when it shows."""
        if self.enabled:
            self._progress.console.print(Text(message))
        else:
            print(message, file=sys.stderr, flush=True)

