// The search box of the channel header: Discord's filters offered as the
// user types (from:, in:, has:, mentions:, before:, after:, during:,
// pinned:), and the results in a panel below it.
import { useRef, useState } from 'react'
import type { SearchResult } from '../api/types'
import { humanError } from '../lib/format'
import { useAppList, useStore } from '../state/store'
import { SearchResults } from './SearchResults'

/** FILTERS are the filter keys, with what each means. */
export const FILTERS: { key: string; hint: string }[] = [
  { key: 'from:', hint: 'user' },
  { key: 'in:', hint: 'channel' },
  { key: 'has:', hint: 'link, file or image' },
  { key: 'mentions:', hint: 'user' },
  { key: 'before:', hint: 'date' },
  { key: 'after:', hint: 'date' },
  { key: 'during:', hint: 'date' },
  { key: 'pinned:', hint: 'true or false' },
]

/** lastToken is the word being typed at the end of text; null inside a "phrase". */
function lastToken(text: string): string | null {
  const quotes = (text.match(/"/g) ?? []).length
  if (quotes % 2 === 1) return null
  const m = /(\S*)$/.exec(text)
  return m ? m[1] : ''
}

/** suggest lists completions of the word being typed: filter keys, then their values. */
export function suggest(text: string, values: { users: string[]; channels: string[]; today: string }): string[] {
  const tok = lastToken(text)?.toLowerCase()
  if (tok === undefined) return []
  const colon = tok.indexOf(':')
  if (colon < 0) {
    return FILTERS.map((f) => f.key).filter((k) => k.startsWith(tok) && k !== tok)
  }
  const key = tok.slice(0, colon + 1)
  const prefix = tok.slice(colon + 1)
  let options: string[] = []
  switch (key) {
    case 'from:':
    case 'mentions:':
      options = values.users
      break
    case 'in:':
      options = values.channels
      break
    case 'has:':
      options = ['link', 'file', 'image']
      break
    case 'pinned:':
      options = ['true', 'false']
      break
    case 'before:':
    case 'after:':
    case 'during:':
      options = [values.today]
      break
  }
  return options.filter((o) => o.toLowerCase().startsWith(prefix) && o.toLowerCase() !== prefix).map((o) => key + o)
}

/** complete replaces the word being typed by the suggestion. */
function complete(text: string, suggestion: string): string {
  const tok = lastToken(text) ?? ''
  return text.slice(0, text.length - tok.length) + suggestion + (suggestion.endsWith(':') ? '' : ' ')
}

/** SearchBox searches the messages of one server or conversation. */
export function SearchBox({ serverId }: { serverId: string }) {
  const { api } = useStore()
  const users = useAppList((s) =>
    Object.keys(s.members[serverId] ?? {})
      .map((id) => s.users[id]?.login ?? '')
      .filter(Boolean)
      .sort(),
  )
  const channels = useAppList((s) =>
    Object.values(s.channels)
      .filter((c) => c.server_id === serverId)
      .map((c) => c.name)
      .sort(),
  )
  const [text, setText] = useState('')
  const [focused, setFocused] = useState(false)
  const [active, setActive] = useState(-1)
  const [query, setQuery] = useState('')
  const [results, setResults] = useState<SearchResult[] | null>(null)
  const [total, setTotal] = useState(0)
  const [estimate, setEstimate] = useState(false)
  const [next, setNext] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState('')
  const seq = useRef(0)
  const input = useRef<HTMLInputElement>(null)

  const today = new Date().toISOString().slice(0, 10)
  const options = focused ? suggest(text, { users, channels, today }).slice(0, 8) : []
  const listId = `search-suggestions-${serverId}`

  const run = async (q: string, token = '') => {
    const n = ++seq.current
    setBusy(true)
    setError('')
    if (!token) {
      setQuery(q)
      setResults([])
      setTotal(0)
      setEstimate(false)
    }
    try {
      const page = await api.searchMessages(serverId, q, token)
      if (n !== seq.current) return
      const shown = (token ? (results?.length ?? 0) : 0) + page.results.length
      setResults((prev) => (token ? [...(prev ?? []), ...page.results] : page.results))
      if (page.next === '') {
        // Every result is listed: the count is exact.
        setTotal(shown)
        setEstimate(false)
      } else if (!token || !page.estimate) {
        // A later page estimates from fewer messages than the first:
        // the first page's total stands unless a later one is exact.
        setTotal(page.total)
        setEstimate(page.estimate)
      }
      setNext(page.next)
    } catch (e) {
      if (n === seq.current) setError(humanError(e, { query: 'Search' }))
    } finally {
      if (n === seq.current) setBusy(false)
    }
  }

  const accept = (s: string) => {
    setText(complete(text, s))
    setActive(-1)
    input.current?.focus()
  }

  const onKeyDown = (e: React.KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'ArrowDown' && options.length) {
      e.preventDefault()
      setActive((a) => (a + 1) % options.length)
    } else if (e.key === 'ArrowUp' && options.length) {
      e.preventDefault()
      setActive((a) => (a <= 0 ? options.length - 1 : a - 1))
    } else if ((e.key === 'Enter' || e.key === 'Tab') && active >= 0 && active < options.length) {
      e.preventDefault()
      accept(options[active])
    } else if (e.key === 'Enter') {
      e.preventDefault()
      const q = text.trim()
      if (q) {
        setFocused(false)
        void run(q)
      }
    } else if (e.key === 'Escape') {
      if (options.length) setFocused(false)
      else close()
    }
  }

  const close = () => {
    seq.current++
    setResults(null)
    setBusy(false)
    setError('')
  }

  return (
    <div className="search-box">
      <input
        ref={input}
        type="search"
        role="combobox"
        aria-label="Search messages"
        aria-expanded={options.length > 0}
        aria-controls={listId}
        aria-autocomplete="list"
        aria-activedescendant={active >= 0 && active < options.length ? `${listId}-${active}` : undefined}
        placeholder="Search"
        value={text}
        onChange={(e) => {
          setText(e.target.value)
          setActive(-1)
          setFocused(true)
        }}
        onFocus={() => setFocused(true)}
        onBlur={() => setFocused(false)}
        onKeyDown={onKeyDown}
      />
      {options.length > 0 && (
        <ul className="search-suggestions" role="listbox" id={listId} aria-label="Search filters">
          {options.map((o, i) => {
            const f = FILTERS.find((x) => x.key === o)
            return (
              <li
                key={o}
                id={`${listId}-${i}`}
                role="option"
                aria-selected={i === active}
                onMouseDown={(e) => {
                  e.preventDefault() // keep the focus in the box
                  accept(o)
                }}
              >
                <span className="search-suggestion">{o}</span>
                {f && <span className="search-hint">{f.hint}</span>}
              </li>
            )
          })}
        </ul>
      )}
      {results && (
        <SearchResults
          query={query}
          results={results}
          total={total}
          estimate={estimate}
          busy={busy}
          error={error}
          hasMore={next !== ''}
          onMore={() => void run(query, next)}
          onClose={close}
        />
      )}
    </div>
  )
}
