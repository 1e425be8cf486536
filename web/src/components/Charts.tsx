// Charts drawn here in SVG, so they follow the theme (colours are CSS variables)
// and read at a glance: counts per day or hour as bars, rankings as horizontal bars.
import { axisLabel, bucketLabel, tickEvery } from '../lib/format'

const W = 640
const H = 220
const PAD = { top: 12, right: 12, bottom: 28, left: 40 }
/** Roughly how wide an axis label is in viewBox units (11px font). */
const LABEL_W = 44

export interface Point {
  start_time: string
  count?: string
}

/** niceMax rounds a maximum up to 1, 2 or 5 times a power of ten, so gridlines fall on round numbers. */
export function niceMax(n: number): number {
  if (n <= 0) return 1
  const p = 10 ** Math.floor(Math.log10(n))
  for (const m of [1, 2, 5, 10]) if (n <= m * p) return m * p
  return 10 * p
}

/** ActivityChart draws counts per bucket as bars with a readable, non-overlapping time axis. */
export function ActivityChart({ points, granularity, label }: { points: Point[]; granularity: 'hour' | 'day'; label: string }) {
  const values = points.map((p) => Number(p.count ?? 0))
  const max = niceMax(Math.max(0, ...values))
  const plotW = W - PAD.left - PAD.right
  const plotH = H - PAD.top - PAD.bottom
  const slot = plotW / Math.max(1, points.length)
  const every = tickEvery(points.length, plotW, LABEL_W)
  const y = (v: number) => PAD.top + plotH - (v / max) * plotH
  const grid = [0, max / 2, max]
  return (
    <figure className="chart" data-testid="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={label} preserveAspectRatio="xMidYMid meet">
        {grid.map((g) => (
          <g key={g}>
            <line className="chart-grid" x1={PAD.left} x2={W - PAD.right} y1={y(g)} y2={y(g)} />
            <text className="chart-axis" x={PAD.left - 6} y={y(g) + 4} textAnchor="end">
              {Number.isInteger(g) ? g : g.toFixed(1)}
            </text>
          </g>
        ))}
        {points.map((p, i) => {
          const v = values[i]
          const x = PAD.left + i * slot
          const bw = Math.max(1, slot * 0.7)
          return (
            <g key={p.start_time}>
              {v > 0 && (
                <rect className="chart-bar" x={x + (slot - bw) / 2} y={y(v)} width={bw} height={PAD.top + plotH - y(v)} rx={Math.min(3, bw / 3)}>
                  <title>{`${bucketLabel(p.start_time, granularity)}: ${v}`}</title>
                </rect>
              )}
              {i % every === 0 && (
                <text className="chart-axis" data-testid="chart-tick" x={x + slot / 2} y={H - 8} textAnchor="middle">
                  {axisLabel(p.start_time, granularity)}
                </text>
              )}
            </g>
          )
        })}
      </svg>
    </figure>
  )
}

/** RankingChart draws a ranking as horizontal bars, longest first, labelled with names and counts. */
export function RankingChart({ rows, label }: { rows: { key: string; name: string; count: number }[]; label: string }) {
  const rowH = 26
  const h = Math.max(1, rows.length) * rowH + 8
  const max = Math.max(1, ...rows.map((r) => r.count))
  const nameW = 150
  const barW = W - nameW - 60
  return (
    <figure className="chart" data-testid="chart">
      <svg viewBox={`0 0 ${W} ${h}`} role="img" aria-label={label}>
        {rows.length === 0 && (
          <text className="chart-axis" x={W / 2} y={h / 2 + 4} textAnchor="middle">
            Nothing yet
          </text>
        )}
        {rows.map((r, i) => (
          <g key={r.key} transform={`translate(0 ${4 + i * rowH})`}>
            <text className="chart-label" x={nameW - 8} y={rowH / 2 + 4} textAnchor="end">
              {r.name.length > 20 ? r.name.slice(0, 19) + '…' : r.name}
            </text>
            <rect className="chart-bar" x={nameW} y={4} height={rowH - 8} width={Math.max(2, (r.count / max) * barW)} rx={3} />
            <text className="chart-axis" x={nameW + Math.max(2, (r.count / max) * barW) + 6} y={rowH / 2 + 4}>
              {r.count}
            </text>
          </g>
        ))}
      </svg>
    </figure>
  )
}
