// The profile card a click on a name opens: display name, login, status text,
// presence, and "Message" / "Add friend", as in Discord.
import { useMutation } from '@tanstack/react-query'
import { humanError } from '../lib/format'
import { navigate } from '../lib/route'
import { displayName, presenceOf } from '../state/reducer'
import { useApp, useStore } from '../state/store'
import { AvatarWithPresence, ErrorLine, Modal, statusLabel } from './common'

export function ProfileCard({ userId, fallbackName, fallbackLogin, onClose }: { userId: string; fallbackName?: string; fallbackLogin?: string; onClose: () => void }) {
  const { api, ctl } = useStore()
  const user = useApp((s) => s.users[userId])
  const meId = useApp((s) => s.me?.id)
  const name = useApp((s) => (s.users[userId] ? displayName(s, userId) : fallbackName || 'Unknown user'))
  const status = useApp((s) => presenceOf(s, userId))
  const rel = useApp((s) => s.relationships[userId]?.type)
  const login = user?.login ?? fallbackLogin
  const message = useMutation({
    mutationFn: () => ctl.openConversation(userId),
    onSuccess: (serverId) => {
      onClose()
      navigate({ name: 'dm', serverId })
    },
  })
  const befriend = useMutation({
    mutationFn: () => api.sendFriendRequest(login ?? ''),
    onSuccess: (r) => ctl.dispatchRelationship(r),
  })
  const err = message.error ?? befriend.error
  return (
    <Modal title={`Profile of ${name}`} onClose={onClose}>
      <div className="profile-card" data-testid="profile-card">
        <AvatarWithPresence id={userId} name={name} status={status} size={64} />
        <div className="profile-names">
          <strong className="profile-name">{name}</strong>
          {login && <span className="muted">@{login}</span>}
          {status !== 'STATUS_UNSPECIFIED' && <span className="small muted">{statusLabel(status)}</span>}
        </div>
        {user?.status_text && <p className="profile-status" data-testid="profile-status">{user.status_text}</p>}
        {userId !== meId && (
          <div className="dialog-actions">
            <button type="button" className="primary" disabled={message.isPending} onClick={() => message.mutate()}>
              Message
            </button>
            {rel === 'RELATIONSHIP_TYPE_FRIEND' ? (
              <span className="muted small">Friends</span>
            ) : rel === 'RELATIONSHIP_TYPE_OUTGOING_REQUEST' || befriend.isSuccess ? (
              <span className="muted small">Friend request sent</span>
            ) : rel === 'RELATIONSHIP_TYPE_INCOMING_REQUEST' ? (
              <span className="muted small">Wants to be your friend</span>
            ) : (
              <button type="button" className="secondary" disabled={!login || befriend.isPending || rel === 'RELATIONSHIP_TYPE_BLOCKED'} onClick={() => befriend.mutate()}>
                Add friend
              </button>
            )}
          </div>
        )}
        <ErrorLine text={err ? humanError(err) : null} />
      </div>
    </Modal>
  )
}
