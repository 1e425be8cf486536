// The inbox of recent mentions across all the user's servers and
// conversations, newest first and paged; choosing one jumps to its channel.
import { useInfiniteQuery } from '@tanstack/react-query'
import type { Message } from '../api/types'
import { humanError } from '../lib/format'
import { navigate } from '../lib/route'
import { isGuild } from '../state/reducer'
import { useApp, useStore } from '../state/store'
import { ErrorLine, formatTime, Modal } from './common'
import { useJumpToMessage } from '../state/jump'

export function MentionsInbox({ onClose }: { onClose: () => void }) {
  const { api } = useStore()
  const q = useInfiniteQuery({
    queryKey: ['mentions'],
    queryFn: ({ pageParam }) => api.listMentions(pageParam || undefined),
    initialPageParam: '',
    getNextPageParam: (last) => last.next_page_token || undefined,
  })
  const messages = q.data?.pages.flatMap((p) => p.messages ?? []) ?? []
  return (
    <Modal title="Mentions" onClose={onClose}>
      {q.isPending && <p className="hint">Loading…</p>}
      {q.error && <ErrorLine text={humanError(q.error)} />}
      {!q.isPending && messages.length === 0 && <p className="hint">Nobody has mentioned you yet.</p>}
      <ul className="mention-inbox" data-testid="mention-inbox">
        {messages.map((m) => (
          <InboxItem key={m.id} m={m} onJump={onClose} />
        ))}
      </ul>
      {q.hasNextPage && (
        <button type="button" className="button secondary" disabled={q.isFetchingNextPage} onClick={() => void q.fetchNextPage()}>
          Older mentions
        </button>
      )}
    </Modal>
  )
}

function InboxItem({ m, onJump }: { m: Message; onJump: () => void }) {
  const where = useApp((s) => {
    const srv = s.servers[m.server_id]
    if (!srv) return ''
    return isGuild(srv) ? `${srv.name} · #${s.channels[m.channel_id]?.name ?? 'channel'}` : 'Direct message'
  })
  const jumpToMessage = useJumpToMessage()
  const jump = () => {
    onJump()
    const srv = m.server_id === m.channel_id ? { name: 'dm' as const, serverId: m.server_id } : { name: 'server' as const, serverId: m.server_id, channelId: m.channel_id }
    navigate(srv)
    // The message list scrolls to it and highlights it (history loaded around it if needed).
    jumpToMessage(m.channel_id, m.id).catch(() => {})
  }
  return (
    <li>
      <button type="button" className="mention-item" onClick={jump}>
        <span className="mention-where">{where}</span>
        <span className="mention-author">{m.author_name || 'Someone'}</span>
        {m.create_time && <time className="mention-time">{formatTime(m.create_time)}</time>}
        <span className="mention-content">{m.content}</span>
      </button>
    </li>
  )
}
