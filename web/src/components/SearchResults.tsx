// The results of a message search: author, channel, time and a snippet with
// the matching words marked; choosing one opens its channel.
import type { SearchResult } from '../api/types'
import { formatTime } from '../lib/format'
import { navigate } from '../lib/route'
import { useApp } from '../state/store'
import { useJumpToMessage } from '../state/jump'

/** Snippet marks the highlighted ranges (code points) of a result's snippet. */
export function Snippet({ text, highlights }: { text: string; highlights?: { start?: number; end?: number }[] }) {
  const cps = Array.from(text)
  const parts: { text: string; mark: boolean }[] = []
  let at = 0
  for (const h of highlights ?? []) {
    const start = Math.max(h.start ?? 0, at)
    const end = Math.min(h.end ?? 0, cps.length)
    if (end <= start) continue
    if (start > at) parts.push({ text: cps.slice(at, start).join(''), mark: false })
    parts.push({ text: cps.slice(start, end).join(''), mark: true })
    at = end
  }
  if (at < cps.length) parts.push({ text: cps.slice(at).join(''), mark: false })
  return (
    <span className="search-snippet">
      {parts.map((p, i) => (p.mark ? <mark key={i}>{p.text}</mark> : <span key={i}>{p.text}</span>))}
    </span>
  )
}

function ResultItem({ r, onOpen }: { r: SearchResult; onOpen: () => void }) {
  const channelName = useApp((s) => s.channels[r.channel_id]?.name ?? '')
  const isDM = useApp((s) => s.servers[r.server_id]?.kind === 'SERVER_KIND_DM')
  const jumpToMessage = useJumpToMessage()
  const open = () => {
    navigate(isDM ? { name: 'dm', serverId: r.server_id } : { name: 'server', serverId: r.server_id, channelId: r.channel_id })
    jumpToMessage(r.channel_id, r.message_id).catch(() => {})
    onOpen()
  }
  return (
    <li>
      <button type="button" className="search-result" onClick={open}>
        <span className="search-result-head">
          <strong>{r.author_name || 'Unknown user'}</strong>
          {!isDM && channelName && <span className="search-result-channel">#{channelName}</span>}
          <time dateTime={r.create_time}>{formatTime(r.create_time)}</time>
        </span>
        <Snippet text={r.snippet ?? r.content ?? ''} highlights={r.highlights} />
      </button>
    </li>
  )
}

/** resultCount says how many results a query has, "about" when estimated. */
export function resultCount(total: number, estimate: boolean, query: string): string {
  const n = `${estimate ? 'About ' : ''}${total} ${total === 1 && !estimate ? 'result' : 'results'}`
  return `${n} for “${query}”`
}

/** SearchResults lists the results of a query, with more on demand. */
export function SearchResults({
  query,
  results,
  total,
  estimate = false,
  busy,
  error,
  hasMore,
  onMore,
  onClose,
}: {
  query: string
  results: SearchResult[]
  total: number
  /** estimate: total is an estimate (shown as "about N results"). */
  estimate?: boolean
  busy: boolean
  error: string
  hasMore: boolean
  onMore: () => void
  onClose: () => void
}) {
  return (
    <section className="search-results" aria-label="Search results">
      <header className="search-results-head">
        <span role="status">
          {busy && results.length === 0
            ? 'Searching…'
            : error
              ? error
              : resultCount(total, estimate, query)}
        </span>
        <button type="button" className="icon-button" aria-label="Close search results" onClick={onClose}>
          ×
        </button>
      </header>
      {results.length > 0 && (
        <ol className="search-result-list">
          {results.map((r) => (
            <ResultItem key={r.message_id} r={r} onOpen={onClose} />
          ))}
        </ol>
      )}
      {hasMore && (
        <button type="button" className="search-more" disabled={busy} onClick={onMore}>
          {busy ? 'Loading…' : 'More results'}
        </button>
      )}
    </section>
  )
}
