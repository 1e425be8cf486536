// The red numbered mention badge (Discord's style): how many unread messages
// mention the user, next to a channel, a conversation or a server icon.
import { unreadLabel } from '../state/unread'

export function MentionBadge({ count, decorative }: { count: number; decorative?: boolean }) {
  if (count <= 0) return null
  return (
    <span className="badge mention-badge" data-testid="mention-badge" aria-hidden={decorative ? 'true' : undefined}>
      <span aria-hidden="true">{unreadLabel(count)}</span>
      {!decorative && <span className="visually-hidden">{count === 1 ? '1 mention' : `${count} mentions`}</span>}
    </span>
  )
}
