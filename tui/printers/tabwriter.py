"""Go's text/tabwriter, which kubectl aligns its tables and describe output with."""

from __future__ import annotations


def tabwrite(text: str, *, minwidth: int = 0, padding: int = 2, remember: list[int] | None = None) -> str:
    """Align tab-separated cells the way Go's tabwriter does.

    A column block is a run of consecutive lines that have a tab-terminated cell in that column;
    the block's width is its widest cell plus padding (at least minwidth). The last cell of a line
    is never padded. `remember` is the RememberWidths flag of kubectl's tabwriter (what get -w prints
    through): each column's widest width so far, kept from call to call, a column never narrower.
    """
    rows = [line.split("\t") for line in text.split("\n")]
    widths: list[list[int]] = [[0] * (len(r) - 1) for r in rows]
    ncols = max((len(r) - 1 for r in rows), default=0)
    for col in range(ncols):
        i = 0
        while i < len(rows):
            if len(rows[i]) - 1 <= col:
                i += 1
                continue
            j = i
            width = minwidth
            while j < len(rows) and len(rows[j]) - 1 > col:
                width = max(width, len(rows[j][col]) + padding)
                j += 1
            if remember is not None:
                remember.extend([0] * (col + 1 - len(remember)))
                width = remember[col] = max(width, remember[col])
            for k in range(i, j):
                widths[k][col] = width
            i = j
    out = []
    for row, w in zip(rows, widths, strict=True):
        out.append("".join(cell.ljust(w[c]) for c, cell in enumerate(row[:-1])) + row[-1])
    return "\n".join(out)
