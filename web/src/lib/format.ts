// Text helpers shared by the screens: channel names, times, dates, errors.
import { ApiError } from '../api/client'

/** CHANNEL_NAME_MAX is the longest channel name the API accepts. */
export const CHANNEL_NAME_MAX = 32

/**
 * channelSlug turns what is typed into a channel name the API accepts, as
 * Discord does while you type: "Random Stuff!" becomes "random-stuff". While
 * typing (final false) a trailing dash stays, so the next word can follow it.
 */
export function channelSlug(input: string, final = false): string {
  let s = input
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[\s_]+/g, '-')
    .replace(/[^a-z0-9-]/g, '')
    .replace(/-{2,}/g, '-')
    .replace(/^-+/, '')
    .slice(0, CHANNEL_NAME_MAX)
  if (final) s = s.replace(/-+$/, '')
  return s
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' })
const dateFmt = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric' })
const dayFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' })
const hourFmt = new Intl.DateTimeFormat(undefined, { hour: 'numeric' })

/** clockTime is "2:30 AM" or "14:30" by locale, the hour never zero-padded. */
export function clockTime(d: Date): string {
  return timeFmt.format(d)
}

/** formatTime shows "Today at 2:02 PM", "Yesterday at 9:15 AM" or a date. */
export function formatTime(iso: string | undefined, now = new Date()): string {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return ''
  const day = (x: Date) => new Date(x.getFullYear(), x.getMonth(), x.getDate()).getTime()
  const diff = Math.round((day(now) - day(d)) / 86_400_000)
  if (diff === 0) return 'Today at ' + clockTime(d)
  if (diff === 1) return 'Yesterday at ' + clockTime(d)
  return dateFmt.format(d) + ' ' + clockTime(d)
}

/** shortTime is the time of day alone (grouped messages). */
export function shortTime(iso: string | undefined): string {
  if (!iso) return ''
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? '' : clockTime(d)
}

/** bucketLabel names a stats bucket: a whole day as "Dec 2, 2026", an hour as "Dec 2, 2:00 AM". */
export function bucketLabel(iso: string, granularity: 'hour' | 'day'): string {
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return ''
  return granularity === 'day' ? dateFmt.format(d) : `${dayFmt.format(d)}, ${clockTime(d)}`
}

/** axisLabel is the short label of a chart's x axis: "Dec 2" for days, "2 AM" for hours. */
export function axisLabel(iso: string, granularity: 'hour' | 'day'): string {
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return ''
  return granularity === 'day' ? dayFmt.format(d) : hourFmt.format(d)
}

/**
 * tickEvery is how many buckets apart x-axis labels must be so that labels
 * about labelWidth wide never overlap on a chart width pixels wide.
 */
export function tickEvery(count: number, width: number, labelWidth: number): number {
  if (count <= 0) return 1
  const slot = width / count
  return Math.max(1, Math.ceil((labelWidth + 8) / slot))
}

const FIELD_NAMES: Record<string, string> = {
  name: 'Name',
  display_name: 'Display name',
  status_text: 'Status text',
  content: 'Message',
  login: 'Login',
  password: 'Password',
  new_password: 'New password',
  current_password: 'Current password',
}

/** humanError rewrites the API's validation wording ("name: does not match regex pattern ...") for people. */
export function humanError(e: unknown, what: Record<string, string> = {}): string {
  if (!(e instanceof ApiError)) return e instanceof Error ? e.message : String(e)
  if (e.code === 'RESOURCE_EXHAUSTED') {
    const s = retrySeconds(e)
    return s ? `You are doing that too often. Try again in ${s} s.` : 'You are doing that too often. Try again in a moment.'
  }
  if (e.code !== 'INVALID_ARGUMENT') return e.message
  const field = e.field ?? ''
  const label = what[field] ?? FIELD_NAMES[field] ?? 'This value'
  const msg = e.fields[field] ?? e.message
  const body = msg.replace(/^[\w.]+: /, '')
  if (/regex pattern/.test(body)) {
    if (field === 'name' && what.name === 'Channel name') return 'Channel names may only use lower-case letters, digits and dashes.'
    return `${label} contains characters that are not allowed.`
  }
  const len = body.match(/value length must be (at most|at least) (\d+) characters?/)
  if (len) return `${label} must be ${len[1]} ${len[2]} characters.`
  if (/required|must not be empty/.test(body)) return `${label} is required.`
  return `${label} ${body.replace(/\.$/, '')}.`
}

/** retrySeconds is how long a rate-limited request asks to wait, in whole seconds (rounded up). */
export function retrySeconds(e: unknown): number | undefined {
  if (!(e instanceof ApiError)) return undefined
  if (e.retryAfterMs !== undefined) return Math.max(1, Math.ceil(e.retryAfterMs / 1000))
  const m = e.message.match(/retry in ([\d.]+)(ms|s|m)/)
  if (!m) return undefined
  const n = Number(m[1]) * (m[2] === 'ms' ? 0.001 : m[2] === 'm' ? 60 : 1)
  return Math.max(1, Math.ceil(n))
}
