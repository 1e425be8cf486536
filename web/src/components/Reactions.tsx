// Reaction chips under a message (click to toggle, count, "me" state) and the
// message actions that add one: a quick 👍 and the emoji picker.
import { useState } from 'react'
import type { Message } from '../api/types'
import { errorText } from '../state/controller'
import { useStore } from '../state/store'
import { EmojiPicker } from './EmojiPicker'

/** useReact returns a function that toggles the caller's reaction with an emoji. */
function useReact(m: Message, onError: (e: string) => void) {
  const { ctl } = useStore()
  return async (emoji: string, on: boolean) => {
    try {
      if (on) await ctl.api.addReaction(m.channel_id, m.id, emoji)
      else await ctl.api.removeReaction(m.channel_id, m.id, emoji)
      // The feed's reaction event updates every client, this one included.
    } catch (e) {
      onError(errorText(e))
    }
  }
}

/** Reactions shows the message's reactions as toggle chips. */
export function Reactions({ m, onError }: { m: Message; onError: (e: string) => void }) {
  const react = useReact(m, onError)
  const rs = m.reactions ?? []
  if (rs.length === 0) return null
  return (
    <div className="reactions" role="group" aria-label="Reactions">
      {rs.map((r) => (
        <button
          key={r.emoji}
          type="button"
          className={'reaction' + (r.me ? ' mine' : '')}
          aria-pressed={!!r.me}
          aria-label={`${r.emoji} ${r.count ?? 0} reaction${r.count === 1 ? '' : 's'}${r.me ? ', including you' : ''}`}
          data-testid="reaction"
          data-emoji={r.emoji}
          onClick={() => void react(r.emoji, !r.me)}
        >
          <span aria-hidden="true">{r.emoji}</span> <span className="count">{r.count ?? 0}</span>
        </button>
      ))}
    </div>
  )
}

/** ReactionActions are the hover actions: a quick 👍 and "Add reaction" (the picker). */
export function ReactionActions({ m, onError }: { m: Message; onError: (e: string) => void }) {
  const react = useReact(m, onError)
  const [picking, setPicking] = useState(false)
  const plusOne = (m.reactions ?? []).find((r) => r.emoji === '👍')
  return (
    <>
      <button type="button" aria-label="React with thumbs up" title="+1" onClick={() => void react('👍', !plusOne?.me)}>
        👍
      </button>
      <button type="button" aria-label="Add reaction" aria-haspopup="dialog" onClick={() => setPicking((p) => !p)}>
        😀+
      </button>
      {picking && <EmojiPicker onPick={(e) => void react(e, true)} onClose={() => setPicking(false)} />}
    </>
  )
}

/** PinAction pins or unpins a message (owners and admins; either participant of a conversation). */
export function PinAction({ m, onError }: { m: Message; onError: (e: string) => void }) {
  const { ctl } = useStore()
  const toggle = async () => {
    try {
      if (m.pinned) await ctl.api.unpinMessage(m.channel_id, m.id)
      else await ctl.api.pinMessage(m.channel_id, m.id)
    } catch (e) {
      onError(errorText(e))
    }
  }
  return (
    <button type="button" aria-label={m.pinned ? 'Unpin message' : 'Pin message'} onClick={() => void toggle()}>
      {m.pinned ? 'Unpin' : 'Pin'}
    </button>
  )
}
