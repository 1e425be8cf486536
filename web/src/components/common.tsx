// Small shared pieces: avatars, presence dots, badges, dialogs, time formats.
import { useEffect, useRef, type ReactNode } from 'react'
import type { Status } from '../api/types'
import { unreadLabel } from '../state/unread'

/** initials turns "Rocket League Fans" into "RLF" (at most 3 letters). */
export function initials(name: string): string {
  const words = name.trim().split(/[\s_\-.]+/).filter(Boolean)
  if (words.length === 0) return '?'
  if (words.length === 1) return words[0].slice(0, 2).toUpperCase()
  return words
    .slice(0, 3)
    .map((w) => [...w][0])
    .join('')
    .toUpperCase()
}

/** hue gives a stable colour per id. */
export function hue(id: string): number {
  let h = 0
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) % 360
  return h
}

export function Avatar({ id, name, size = 40 }: { id: string; name: string; size?: number }) {
  return (
    <span
      className="avatar"
      aria-hidden="true"
      style={{ width: size, height: size, fontSize: size * 0.4, background: `hsl(${hue(id)} 45% 42%)` }}
    >
      {initials(name)}
    </span>
  )
}

const STATUS_LABEL: Record<Status, string> = {
  STATUS_UNSPECIFIED: 'offline',
  STATUS_OFFLINE: 'offline',
  STATUS_ONLINE: 'online',
  STATUS_IDLE: 'idle',
  STATUS_DND: 'do not disturb',
  STATUS_INVISIBLE: 'invisible',
}

/** statusClass is the CSS/test name of a status: online, idle, dnd or offline. */
export function statusClass(s: Status): string {
  switch (s) {
    case 'STATUS_ONLINE':
      return 'online'
    case 'STATUS_IDLE':
      return 'idle'
    case 'STATUS_DND':
      return 'dnd'
    default:
      return 'offline'
  }
}

export function PresenceDot({ status }: { status: Status }) {
  const label = STATUS_LABEL[status] ?? 'offline'
  return <span className={'presence-dot ' + statusClass(status)} data-status={statusClass(status)} role="img" aria-label={label} title={label} />
}

/** AvatarWithPresence is an avatar with a presence dot in its corner. */
export function AvatarWithPresence({ id, name, status, size = 32 }: { id: string; name: string; status: Status; size?: number }) {
  return (
    <span className="avatar-wrap">
      <Avatar id={id} name={name} size={size} />
      <PresenceDot status={status} />
    </span>
  )
}

export function Badge({ count, label }: { count: number; label?: string }) {
  if (count <= 0) return null
  return (
    <span className="badge" aria-label={label ?? `${count} unread`}>
      {unreadLabel(count)}
    </span>
  )
}

/** Modal is an accessible dialog: focus moves in, Escape closes, focus returns. */
export function Modal({ title, onClose, children, wide }: { title: string; onClose: () => void; children: ReactNode; wide?: boolean }) {
  const ref = useRef<HTMLDivElement>(null)
  useEffect(() => {
    const prev = document.activeElement as HTMLElement | null
    const el = ref.current
    const first = el?.querySelector<HTMLElement>('input, button:not(.modal-close), select, textarea, [tabindex]')
    ;(first ?? el)?.focus()
    return () => prev?.focus?.()
  }, [])
  return (
    <div
      className="modal-backdrop"
      onMouseDown={(e) => {
        if (e.target === e.currentTarget) onClose()
      }}
    >
      <div
        className={'modal' + (wide ? ' wide' : '')}
        role="dialog"
        aria-modal="true"
        aria-label={title}
        ref={ref}
        tabIndex={-1}
        onKeyDown={(e) => {
          if (e.key === 'Escape') {
            e.stopPropagation()
            onClose()
          }
        }}
      >
        <div className="modal-head">
          <h2>{title}</h2>
          <button type="button" className="icon-button modal-close" aria-label="Close" onClick={onClose}>
            ×
          </button>
        </div>
        {children}
      </div>
    </div>
  )
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' })
const dateFmt = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric' })

/** formatTime shows "Today at 14:02", "Yesterday at 09:15" or a date. */
export function formatTime(iso: string | undefined, now = new Date()): string {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return ''
  const day = (x: Date) => new Date(x.getFullYear(), x.getMonth(), x.getDate()).getTime()
  const diff = Math.round((day(now) - day(d)) / 86_400_000)
  if (diff === 0) return 'Today at ' + timeFmt.format(d)
  if (diff === 1) return 'Yesterday at ' + timeFmt.format(d)
  return dateFmt.format(d) + ' ' + timeFmt.format(d)
}

export function shortTime(iso: string | undefined): string {
  if (!iso) return ''
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? '' : timeFmt.format(d)
}

/** ErrorLine shows an error message for screen readers and eyes. */
export function ErrorLine({ text }: { text?: string | null }) {
  if (!text) return null
  return (
    <p className="error-line" role="alert">
      {text}
    </p>
  )
}
