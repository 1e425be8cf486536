// Jump to a message: any part of the app (a reply's preview, the pinned
// messages, the mention inbox, search results) calls the function that
// useJumpToMessage returns; the channel opens, its history is loaded around
// the message when it is not loaded yet, and the message list scrolls to it
// and highlights it for a moment.
import { useCallback } from 'react'
import { createStore, useStore as useZustand } from 'zustand'
import { navigate } from '../lib/route'
import { isGuild } from './reducer'
import { useAppStore, useStore } from './store'

/** JumpTarget is a message the list should bring into view. */
export interface JumpTarget {
  channelId: string
  messageId: string
}

interface JumpState {
  /** The message to scroll to once it is in the list; cleared when done. */
  target: JumpTarget | null
  /** The message shown highlighted (briefly, after a jump). */
  flash: string | null
}

/** HIGHLIGHT_MS is how long a message jumped to stays highlighted. */
export const HIGHLIGHT_MS = 3000

/** jumps is the one jump state of the app (there is one message list on screen). */
export const jumps = createStore<JumpState>()(() => ({ target: null, flash: null }))

let flashTimer: ReturnType<typeof setTimeout> | undefined

/** arrived marks the target reached: it is highlighted for HIGHLIGHT_MS. */
export function arrived(messageId: string): void {
  clearTimeout(flashTimer)
  jumps.setState({ target: null, flash: messageId })
  flashTimer = setTimeout(() => {
    if (jumps.getState().flash === messageId) jumps.setState({ flash: null })
  }, HIGHLIGHT_MS)
}

/** useJumps subscribes to one slice of the jump state. */
export function useJumps<T>(selector: (s: JumpState) => T): T {
  return useZustand(jumps, selector)
}

/**
 * useJumpToMessage returns jumpToMessage(channelId, messageId): it opens the channel, loads the
 * history around the message when it is not loaded (the promise rejects when the message is gone
 * or not visible), and the list scrolls to it and highlights it.
 */
export function useJumpToMessage(): (channelId: string, messageId: string) => Promise<void> {
  const store = useAppStore()
  const { ctl } = useStore()
  return useCallback(
    async (channelId: string, messageId: string) => {
      const s = store.getState()
      const channel = s.channels[channelId]
      if (channel) {
        const srv = s.servers[channel.server_id]
        navigate(srv && !isGuild(srv) ? { name: 'dm', serverId: channel.server_id } : { name: 'server', serverId: channel.server_id, channelId })
      }
      jumps.setState({ target: { channelId, messageId } })
      if (!s.messages[channelId]?.byId[messageId]) {
        try {
          await ctl.loadAround(channelId, messageId)
        } catch (e) {
          if (jumps.getState().target?.messageId === messageId) jumps.setState({ target: null })
          throw e
        }
      }
    },
    [store, ctl],
  )
}
