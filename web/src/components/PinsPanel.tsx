// The pinned messages of a channel (header button), refreshed when a pin or
// unpin arrives, and the system lines that pins leave in the channel.
import { useEffect, useState } from 'react'
import type { Pin } from '../api/types'
import { errorText } from '../state/controller'
import { useApp, useStore } from '../state/store'
import { formatTime } from './common'
import { useJumpToMessage } from '../state/jump'

/** PinsPanel lists the channel's pins, the latest first. */
export function PinsPanel({ channelId, onClose }: { channelId: string; onClose: () => void }) {
  const { ctl } = useStore()
  const version = useApp((s) => s.pinNotices[channelId]?.length ?? 0)
  const jumpToMessage = useJumpToMessage()
  const [pins, setPins] = useState<Pin[] | null>(null)
  const [error, setError] = useState('')
  useEffect(() => {
    let live = true
    ctl.api.listPins(channelId).then(
      (ps) => live && setPins(ps),
      (e) => live && setError(errorText(e)),
    )
    return () => {
      live = false
    }
  }, [ctl, channelId, version])
  return (
    <aside className="pins-panel" aria-label="Pinned messages" data-testid="pins-panel">
      <header>
        <h3>Pinned messages</h3>
        <button type="button" className="icon-button small" aria-label="Close pinned messages" onClick={onClose}>
          ×
        </button>
      </header>
      {error && <p className="error">{error}</p>}
      {pins && pins.length === 0 && <p className="muted">This channel has no pinned messages yet.</p>}
      <ul>
        {(pins ?? []).map((p) => (
          <li key={p.message_id} data-testid="pin">
            <div className="meta">
              <strong>{p.message?.author_name}</strong> <time dateTime={p.message?.create_time}>{formatTime(p.message?.create_time)}</time>
            </div>
            <div className="content">{p.message?.content}</div>
            <button type="button" className="button secondary" onClick={() => jumpToMessage(channelId, p.message_id).catch(() => {})}>
              Jump
            </button>
          </li>
        ))}
      </ul>
    </aside>
  )
}

/** PinLines are the channel's recent "alice pinned a message" lines. */
export function PinLines({ channelId }: { channelId: string }) {
  const notices = useApp((s) => s.pinNotices[channelId])
  if (!notices || notices.length === 0) return null
  return (
    <ul className="pin-lines" aria-label="Pin notices">
      {notices.slice(-3).map((n) => (
        <li key={n.id} className="system-line" data-testid="pin-line">
          <span aria-hidden="true">📌 </span>
          <strong>{n.name}</strong> {n.pinned ? 'pinned a message to this channel.' : 'unpinned a message from this channel.'}
        </li>
      ))}
    </ul>
  )
}
