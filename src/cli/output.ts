// Readable output by default, JSON with --json (for scripts).

export function printRecord (json: boolean, title: string, record: object, note?: string): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(record, null, 2)}\n`)
    return
  }
  const entries = record as Record<string, unknown>
  const keys = Object.keys(entries)
  const width = Math.max(...keys.map(k => k.length))
  const lines = keys.map(k => `  ${(k + ':').padEnd(width + 2)}${format(entries[k])}`)
  process.stdout.write(`${title}\n${lines.join('\n')}\n${note === undefined ? '' : `\n${note}\n`}`)
}

export function printTable (json: boolean, rows: object[], columns: string[]): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`)
    return
  }
  if (rows.length === 0) {
    process.stdout.write('(none)\n')
    return
  }
  const cells = rows.map(r => columns.map(c => format((r as Record<string, unknown>)[c])))
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map(row => row[i]?.length ?? 0)))
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ').trimEnd()
  process.stdout.write(`${line(columns)}\n${cells.map(line).join('\n')}\n`)
}

function format (v: unknown): string {
  if (Array.isArray(v)) return v.join(' ')
  if (v === null || v === undefined) return '-'
  return String(v)
}
