/**
 * Go's text/tabwriter as oc's describers configure it (`Init(buf, 0, 8, 1, '\t', 0)`: no minimum width, tab stops
 * every 8 columns, one column of padding, tabs for padding), with the tabs expanded to spaces. Text is written as
 * oc writes it, cells ended by `\t`; the result looks on any terminal exactly as `oc describe` does on one with
 * 8-column tab stops, and stays aligned when piped to a file.
 *
 * As in Go: a cell is text ended by a tab; tab-ended cells in adjacent lines form a column, which is as wide as its
 * widest cell plus the padding, rounded up to the next tab stop; the last cell of a line is not part of a column
 * (a line without tabs ends every column block above it).
 */
const TAB_WIDTH = 8;
const PADDING = 1;

const width = (s: string) => [...s].length;

export function tabbed(text: string): string {
  const lines = text.split('\n').map((l) => l.split('\t'));
  const out: string[] = new Array(lines.length).fill('');
  const widths: number[] = [];

  const writeLines = (line0: number, line1: number) => {
    for (let i = line0; i < line1; i++) {
      const cells = lines[i]!;
      let s = '';
      cells.forEach((c, j) => {
        if (j < widths.length) s += c + ' '.repeat(widths[j]! - width(c));
        else s += c;
      });
      out[i] = s;
    }
  };

  // Go's Writer.format: find the blocks of lines that have a cell in the current column, size that column, then
  // format the columns to its right within the block.
  const format = (line0: number, line1: number) => {
    const column = widths.length;
    for (let cur = line0; cur < line1; cur++) {
      if (column >= lines[cur]!.length - 1) continue;
      writeLines(line0, cur);
      line0 = cur;
      let w = 0;
      for (; cur < line1; cur++) {
        const cells = lines[cur]!;
        if (column >= cells.length - 1) break;
        w = Math.max(w, width(cells[column]!) + PADDING);
      }
      widths.push(Math.ceil(w / TAB_WIDTH) * TAB_WIDTH);
      format(line0, cur);
      widths.pop();
      line0 = cur;
      // `cur` is the first line past the block; the loop's increment would skip it.
      cur--;
    }
    writeLines(line0, line1);
  };

  format(0, lines.length);
  return out.join('\n');
}
