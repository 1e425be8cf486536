// Autocompletion of mentions in the composer: typing "@" offers the server's
// members (by display name or login) and "@everyone"/"@here", "#" its
// channels. Arrow keys move, Enter or Tab insert (<@id>, <#id>, as the server
// stores mentions), Escape closes. The list is a listbox the textarea points
// at (aria-activedescendant), so screen readers follow the choice.
import { useMemo, useState, type KeyboardEvent, type RefObject } from 'react'
import { channelsOf } from '../state/reducer'
import { useApp, useAppList } from '../state/store'

const MAX = 8

export interface Suggestion {
  key: string
  label: string
  detail: string
  insert: string
}

/** queryAt finds the mention being typed before the caret: its trigger, text and start. */
export function queryAt(text: string, caret: number): { trigger: '@' | '#'; query: string; start: number } | null {
  const before = text.slice(0, caret)
  const m = /(^|\s)([@#])([^\s@#<>]{0,32})$/.exec(before)
  if (!m) return null
  return { trigger: m[2] as '@' | '#', query: m[3].toLowerCase(), start: caret - m[3].length - 1 }
}

export function useMentionAutocomplete({
  serverId,
  text,
  setText,
  inputRef,
}: {
  serverId: string | undefined
  text: string
  setText: (t: string) => void
  inputRef: RefObject<HTMLTextAreaElement | null>
}) {
  const [caret, setCaret] = useState(0)
  const [active, setActive] = useState(0)
  const [closedAt, setClosedAt] = useState<number | null>(null)
  const members = useAppList((s) => Object.values((serverId && s.members[serverId]) || {}).filter((m) => m.user_id !== s.me?.id))
  const channels = useAppList((s) => (serverId ? channelsOf(s, serverId) : []))
  const users = useApp((s) => s.users)
  const q = queryAt(text, caret)
  const open = q !== null && closedAt !== q.start
  const items: Suggestion[] = useMemo(() => {
    if (!q) return []
    if (q.trigger === '#') {
      return channels
        .filter((c) => c.name.toLowerCase().includes(q.query))
        .slice(0, MAX)
        .map((c) => ({ key: c.id, label: '#' + c.name, detail: '', insert: `<#${c.id}>` }))
    }
    const out: Suggestion[] = members
      .map((m) => {
        const name = m.display_name || users[m.user_id]?.display_name || m.login || users[m.user_id]?.login || ''
        const login = m.login || users[m.user_id]?.login || ''
        return { key: m.user_id, label: name, detail: login, insert: `<@${m.user_id}>` }
      })
      .filter((s) => s.label.toLowerCase().includes(q.query) || s.detail.toLowerCase().includes(q.query))
      .sort((a, b) => a.label.localeCompare(b.label))
      .slice(0, MAX)
    for (const word of ['everyone', 'here']) {
      if (word.startsWith(q.query)) out.push({ key: word, label: '@' + word, detail: word === 'everyone' ? 'everyone in the server' : 'everyone online', insert: '@' + word })
    }
    return out
  }, [q, members, channels, users])
  const shown = open && items.length > 0
  const current = Math.min(active, Math.max(0, items.length - 1))

  function choose(s: Suggestion) {
    if (!q) return
    const next = text.slice(0, q.start) + s.insert + ' ' + text.slice(caret)
    const pos = q.start + s.insert.length + 1
    setText(next)
    setCaret(pos)
    setActive(0)
    requestAnimationFrame(() => {
      const el = inputRef.current
      if (el) {
        el.focus()
        el.setSelectionRange(pos, pos)
      }
    })
  }

  /** onKeyDown handles the list's keys; it returns true when it used the key. */
  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>): boolean {
    if (!shown) return false
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault()
      const d = e.key === 'ArrowDown' ? 1 : -1
      setActive((current + d + items.length) % items.length)
      return true
    }
    if ((e.key === 'Enter' && !e.shiftKey) || e.key === 'Tab') {
      e.preventDefault()
      choose(items[current])
      return true
    }
    if (e.key === 'Escape') {
      e.preventDefault()
      setClosedAt(q?.start ?? null)
      return true
    }
    return false
  }

  function track(el: HTMLTextAreaElement) {
    setCaret(el.selectionStart ?? el.value.length)
    setActive(0)
    if (closedAt !== null && !queryAt(el.value, el.selectionStart ?? 0)) setClosedAt(null)
  }

  const listId = 'mention-suggestions'
  const popup = shown ? (
    <ul className="mention-suggestions" role="listbox" id={listId} aria-label={q?.trigger === '#' ? 'Channels' : 'Members'} data-testid="mention-suggestions">
      {items.map((s, i) => (
        <li
          key={s.key}
          id={`${listId}-${i}`}
          role="option"
          aria-selected={i === current}
          className={i === current ? 'active' : undefined}
          onMouseDown={(e) => {
            e.preventDefault()
            choose(s)
          }}
        >
          <span className="mention-label">{s.label}</span>
          {s.detail && <span className="mention-detail">{s.detail}</span>}
        </li>
      ))}
    </ul>
  ) : null
  const inputProps = {
    'aria-autocomplete': 'list' as const,
    'aria-controls': shown ? listId : undefined,
    'aria-activedescendant': shown ? `${listId}-${current}` : undefined,
  }
  return { popup, onKeyDown, track, inputProps }
}
