// Getting the user's attention while the tab is hidden: the tab title shows
// how many mentions (and unread direct messages) wait, e.g. "(3) Accord", and
// a DM or a mention raises a browser notification when the user allowed them
// (permission is asked from the settings, never on load). The server's
// notification level and channel mutes, reported in every read state, decide
// what notifies: "all" any message of an unmuted channel, "mentions" only
// mentions, "nothing" nothing; a conversation notifies every message.
import type { ReadState } from '../api/types'
import { displayName, isGuild, type State } from '../state/reducer'
import type { AppStore } from '../state/store'
import { mentionsMe } from '../state/unread'

/** attentionCount is the number the tab title shows: mentions everywhere, and unread messages of conversations. */
export function attentionCount(s: State): number {
  let n = 0
  for (const rs of Object.values(s.readStates)) {
    if (rs.channel_id === s.activeChannel && !hidden()) continue
    const srv = s.servers[rs.server_id]
    const mentions = rs.mention_count ?? 0
    n += srv && !isGuild(srv) ? Math.max(mentions, rs.unread_count ?? 0) : mentions
  }
  return n
}

/** titleFor is the document title for a count. */
export function titleFor(base: string, n: number, isHidden: boolean): string {
  return isHidden && n > 0 ? `(${n > 99 ? '99+' : n}) ${base}` : base
}

/** shouldNotify tells whether a read state's change (a message arrived) raises a notification. */
export function shouldNotify(s: State, before: ReadState | undefined, after: ReadState): boolean {
  const moreUnread = (after.unread_count ?? 0) > (before?.unread_count ?? 0)
  const moreMentions = (after.mention_count ?? 0) > (before?.mention_count ?? 0)
  if (!moreUnread && !moreMentions) return false
  const level = after.notification_level ?? 'NOTIFICATION_LEVEL_ALL'
  if (level === 'NOTIFICATION_LEVEL_NOTHING') return false
  if (moreMentions) return true
  const srv = s.servers[after.server_id]
  if (srv && !isGuild(srv)) return !after.muted
  return level !== 'NOTIFICATION_LEVEL_MENTIONS' && !after.muted
}

function hidden(): boolean {
  return typeof document !== 'undefined' && document.visibilityState === 'hidden'
}

/** notificationsAllowed tells whether the browser lets the app raise notifications. */
export function notificationsAllowed(): boolean {
  return typeof Notification !== 'undefined' && Notification.permission === 'granted'
}

/** askNotifications asks the browser for permission (call from a user's click). */
export async function askNotifications(): Promise<NotificationPermission | 'unsupported'> {
  if (typeof Notification === 'undefined') return 'unsupported'
  return Notification.requestPermission()
}

function notify(s: State, rs: ReadState): void {
  if (!notificationsAllowed()) return
  const ch = s.messages[rs.channel_id]
  const id = rs.last_message_id
  const m = id && ch ? ch.byId[id] : undefined
  const srv = s.servers[rs.server_id]
  const author = m ? m.author_name || displayName(s, m.author_id) : 'Someone'
  const where = srv && isGuild(srv) ? ` in #${s.channels[rs.channel_id]?.name ?? 'channel'}` : ''
  try {
    const n = new Notification(`${author}${where}`, { body: (m?.content ?? '').slice(0, 200), tag: rs.channel_id })
    n.onclick = () => {
      window.focus()
      n.close()
    }
  } catch {
    // Some browsers only notify through a service worker; the title count still shows.
  }
}

/** startAttention keeps the tab title and notifications in step with the store; it returns the stop function. */
export function startAttention(store: AppStore): () => void {
  const base = document.title || 'Accord'
  // The open channel counts as read even while the tab is hidden; what
  // arrives there meanwhile is counted here until the tab shows again.
  let inOpenChannel = 0
  const update = () => {
    if (!hidden()) inOpenChannel = 0
    document.title = titleFor(base, attentionCount(store.getState()) + inOpenChannel, hidden())
  }
  const unsubscribe = store.subscribe((s, prev) => {
    if (s.readStates !== prev.readStates && hidden()) {
      for (const rs of Object.values(s.readStates)) {
        const old = prev.readStates[rs.channel_id]
        if (rs === old || rs.last_message_id === old?.last_message_id) continue
        if (rs.channel_id === s.activeChannel) {
          const id = rs.last_message_id
          const m = id ? s.messages[rs.channel_id]?.byId[id] : undefined
          if (!m || m.author_id === s.me?.id) continue
          const mention = mentionsMe(m, s.me?.id)
          const srv = s.servers[rs.server_id]
          const dm = !!srv && !isGuild(srv)
          if (mention || dm) inOpenChannel++
          const counted = { ...rs, unread_count: 1, mention_count: mention ? 1 : 0 }
          if (shouldNotify(s, { ...rs, unread_count: 0, mention_count: 0 }, counted)) notify(s, counted)
        } else if (shouldNotify(s, old, rs)) notify(s, rs)
      }
    }
    update()
  })
  document.addEventListener('visibilitychange', update)
  update()
  return () => {
    unsubscribe()
    document.removeEventListener('visibilitychange', update)
    document.title = base
  }
}
