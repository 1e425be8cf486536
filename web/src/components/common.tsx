// Small shared pieces: avatars, presence dots, badges, dialogs, time formats.
import { useContext, useEffect, useId, useRef, useState, type ReactNode } from 'react'
import { createStore, useStore as useZustand } from 'zustand'
import type { Status } from '../api/types'
import { unreadLabel } from '../state/unread'
import { avatarOf, initialState } from '../state/reducer'
import { StateContext, StoreContext, useStore } from '../state/store'
import { MenuIcon } from './icons'

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

/**
 * Pictures (avatars, server icons) need the token, so they are fetched and
 * shown through blob: URLs (the CSP allows img-src blob:). A URL names the
 * picture's version, so each is fetched once per tab and kept.
 */
const pictures = new Map<string, Promise<string>>()

/** usePicture returns a blob: URL of the picture at path in its version, or null (none, loading or failed). */
export function usePicture(path: string, version: string | undefined): string | null {
  const store = useContext(StoreContext)
  const [shown, setShown] = useState<{ key: string; url: string } | null>(null)
  const key = version ? path + '?v=' + version : ''
  useEffect(() => {
    if (!key || !store || !version) return
    let p = pictures.get(key)
    if (!p) {
      p = store.api.picture(path, version)
      pictures.set(key, p)
      p.catch(() => pictures.delete(key)) // a later render may try again
    }
    let live = true
    p.then(
      (url) => live && setShown({ key, url }),
      () => undefined,
    )
    return () => {
      live = false
    }
  }, [key, path, version, store])
  return shown && shown.key === key ? shown.url : null
}

// Outside the signed-in app (tests, the sign-in screen) avatars are initials.
const noState = createStore(() => initialState)

/** useAvatarVersion is the current avatar version of a user (empty: none), kept live by events. */
export function useAvatarVersion(id: string): string {
  const st = useContext(StateContext)
  return useZustand(st ?? noState, (s) => avatarOf(s, id))
}

/** Avatar shows a user's picture, or their initials on a stable colour when they have none. */
export function Avatar({ id, name, size = 40, avatar }: { id: string; name: string; size?: number; avatar?: string }) {
  const known = useAvatarVersion(id)
  const version = avatar ?? known
  const url = usePicture(`/v1/users/${encodeURIComponent(id)}/avatar`, version)
  const style = { width: size, height: size, fontSize: size * 0.4, background: `hsl(${hue(id)} 45% 30%)` }
  if (url)
    return <img className="avatar picture" src={url} alt="" aria-hidden="true" width={size} height={size} style={{ width: size, height: size }} data-avatar={version} />
  return (
    <span className="avatar" aria-hidden="true" style={style}>
      {initials(name)}
    </span>
  )
}

const STATUS_LABEL: Record<Status, string> = {
  STATUS_UNSPECIFIED: 'status unknown',
  STATUS_OFFLINE: 'offline',
  STATUS_ONLINE: 'online',
  STATUS_IDLE: 'idle',
  STATUS_DND: 'do not disturb',
  STATUS_INVISIBLE: 'invisible',
}

/** statusLabel is a status as read out: "online", "do not disturb"... */
export function statusLabel(s: Status): string {
  return STATUS_LABEL[s] ?? 'offline'
}

/** statusClass is the CSS/test name of a status: online, idle, dnd, offline, or unknown. */
export function statusClass(s: Status): string {
  switch (s) {
    case 'STATUS_ONLINE':
      return 'online'
    case 'STATUS_IDLE':
      return 'idle'
    case 'STATUS_DND':
      return 'dnd'
    case 'STATUS_UNSPECIFIED':
      return 'unknown'
    default:
      return 'offline'
  }
}

/**
 * PresenceDot draws a status as Discord does: a green dot, a yellow moon, a red
 * dot with a bar (do not disturb), a grey ring (offline). An unknown status
 * (someone whose presence is not watched) draws nothing rather than "offline".
 */
export function PresenceDot({ status }: { status: Status }) {
  // useId's characters (colons, guillemets) are not valid in a url(#id) reference.
  const mask = 'pm' + useId().replace(/[^A-Za-z0-9_-]/g, '')
  const cls = statusClass(status)
  if (cls === 'unknown') return null
  const label = statusLabel(status)
  let cut = null
  if (cls === 'idle') cut = <circle cx="2.5" cy="2.5" r="3.75" fill="black" />
  else if (cls === 'dnd') cut = <rect x="2" y="4" width="6" height="2" rx="1" fill="black" />
  else if (cls === 'offline') cut = <circle cx="5" cy="5" r="2.5" fill="black" />
  return (
    <svg className={'presence-dot ' + cls} data-status={cls} role="img" aria-label={label} viewBox="0 0 10 10" focusable="false">
      <title>{label}</title>
      <mask id={mask}>
        <rect width="10" height="10" fill="white" />
        {cut}
      </mask>
      <circle cx="5" cy="5" r="5" fill="currentColor" mask={`url(#${mask})`} />
    </svg>
  )
}

/** AvatarWithPresence is an avatar with a presence dot in its corner. */
export function AvatarWithPresence({ id, name, status, size = 32, avatar }: { id: string; name: string; status: Status; size?: number; avatar?: string }) {
  return (
    <span className="avatar-wrap">
      <Avatar id={id} name={name} size={size} avatar={avatar} />
      <PresenceDot status={status} />
    </span>
  )
}

/** Badge shows an unread count; decorative when the surrounding name already says it. */
export function Badge({ count, label, decorative }: { count: number; label?: string; decorative?: boolean }) {
  if (count <= 0) return null
  if (decorative)
    return (
      <span className="badge" aria-hidden="true">
        {unreadLabel(count)}
      </span>
    )
  return (
    <span className="badge">
      <span aria-hidden="true">{unreadLabel(count)}</span>
      <span className="visually-hidden">{label ?? `${count} unread`}</span>
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

export { formatTime, shortTime } from '../lib/format'

/** ErrorLine shows an error message for screen readers and eyes. */
export function ErrorLine({ text }: { text?: string | null }) {
  if (!text) return null
  return (
    <p className="error-line" role="alert">
      {text}
    </p>
  )
}

/** NavToggle opens the server and channel drawer on phone-sized windows (nothing elsewhere). */
export function NavToggle() {
  const { openNav } = useStore()
  if (!openNav) return null
  return (
    <button type="button" className="icon-button nav-toggle" aria-label="Open servers and channels" onClick={openNav} data-testid="nav-toggle">
      <MenuIcon />
    </button>
  )
}

/** Countdown shows the whole seconds left until a moment, ticking once a second, and calls onDone at zero. */
export function useCountdown(until: number, onDone?: () => void): number {
  const [now, setNow] = useState(() => Date.now())
  const left = Math.max(0, Math.ceil((until - now) / 1000))
  useEffect(() => {
    if (left <= 0) {
      onDone?.()
      return
    }
    // Wake at the next whole-second boundary of the remaining time, so the number steps evenly.
    const ms = until - Date.now() - (left - 1) * 1000
    const t = setTimeout(() => setNow(Date.now()), Math.max(16, ms))
    return () => clearTimeout(t)
  }, [until, left, now, onDone])
  return left
}

/** MAX_PICTURE_BYTES is the largest avatar or server icon the gateway takes. */
export const MAX_PICTURE_BYTES = 8 << 20

/**
 * PicturePicker uploads or removes a picture (an avatar, a server icon): a
 * file input for PNG, JPEG, GIF or WebP, checked for size before it is sent.
 */
export function PicturePicker({
  id,
  label,
  preview,
  has,
  upload,
  remove,
}: {
  id: string
  label: string
  preview: ReactNode
  has: boolean
  upload: (f: File) => Promise<unknown>
  remove: () => Promise<unknown>
}) {
  const [busy, setBusy] = useState(false)
  const [err, setErr] = useState<string | null>(null)
  async function run(fn: () => Promise<unknown>) {
    setBusy(true)
    setErr(null)
    try {
      await fn()
    } catch (e) {
      setErr(e instanceof Error ? e.message : String(e))
    } finally {
      setBusy(false)
    }
  }
  return (
    <div className="stack picture-picker">
      <h3>{label}</h3>
      <div className="inline-form">
        {preview}
        <input
          id={id}
          type="file"
          className="visually-hidden"
          accept="image/png,image/jpeg,image/gif,image/webp"
          disabled={busy}
          onChange={(e) => {
            const f = e.target.files?.[0]
            e.target.value = ''
            if (!f) return
            if (f.size > MAX_PICTURE_BYTES) return setErr('The picture must be at most 8 MiB.')
            void run(() => upload(f))
          }}
        />
        <label htmlFor={id} className="button">
          {has ? 'Change' : 'Upload'} {label.toLowerCase()}
        </label>
        {has && (
          <button type="button" disabled={busy} onClick={() => void run(remove)}>
            Remove {label.toLowerCase()}
          </button>
        )}
      </div>
      <ErrorLine text={err} />
    </div>
  )
}
