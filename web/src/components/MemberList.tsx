// The member list of a server, grouped by presence, by role then name, with
// presence dots. Each row subscribes to its own member's presence.
import type { Member, Role } from '../api/types'
import { displayName, presenceOf, type State } from '../state/reducer'
import { useApp, useAppList } from '../state/store'
import { AvatarWithPresence } from './common'
import { CrownIcon } from './icons'
import { ProfileCard } from './ProfileCard'
import { useState } from 'react'

const ROLE_ORDER: Record<Role, number> = { ROLE_OWNER: 0, ROLE_ADMIN: 1, ROLE_MEMBER: 2, ROLE_UNSPECIFIED: 3 }

const memberName = (s: State, m: Member) => m.display_name || m.login || displayName(s, m.user_id)
const isOnline = (s: State, id: string) => !['STATUS_OFFLINE', 'STATUS_UNSPECIFIED'].includes(presenceOf(s, id))

/** memberIds lists a server's members who are (or are not) online, by role then name. */
function memberIds(s: State, serverId: string, online: boolean): string[] {
  return Object.values(s.members[serverId] ?? {})
    .filter((m) => isOnline(s, m.user_id) === online)
    .sort((a, b) => ROLE_ORDER[a.role ?? 'ROLE_UNSPECIFIED'] - ROLE_ORDER[b.role ?? 'ROLE_UNSPECIFIED'] || memberName(s, a).localeCompare(memberName(s, b)))
    .map((m) => m.user_id)
}

export function MemberList({ serverId, onClose }: { serverId: string; onClose?: () => void }) {
  const online = useAppList((s) => memberIds(s, serverId, true))
  const offline = useAppList((s) => memberIds(s, serverId, false))
  const groups: [string, string[]][] = [
    ['Online', online],
    ['Offline', offline],
  ]
  return (
    <aside className="members" aria-label="Members">
      {onClose && (
        <div className="drawer-head">
          <h2>Members</h2>
          <button type="button" className="icon-button" aria-label="Close member list" onClick={onClose}>
            ×
          </button>
        </div>
      )}
      {groups.map(([title, list]) =>
        list.length === 0 ? null : (
          <section key={title} aria-label={title}>
            <h3 className="section-title">
              {title} — {list.length}
            </h3>
            <ul>
              {list.map((id) => (
                <MemberRow key={id} serverId={serverId} userId={id} />
              ))}
            </ul>
          </section>
        ),
      )}
    </aside>
  )
}

function MemberRow({ serverId, userId }: { serverId: string; userId: string }) {
  const m = useApp((s) => s.members[serverId]?.[userId])
  const name = useApp((s) => (m ? memberName(s, m) : ''))
  const status = useApp((s) => presenceOf(s, userId))
  const statusText = useApp((s) => s.users[userId]?.status_text)
  const [card, setCard] = useState(false)
  if (!m) return null
  const online = !['STATUS_OFFLINE', 'STATUS_UNSPECIFIED'].includes(status)
  return (
    <li className={'member' + (online ? '' : ' offline')} data-testid="member" data-login={m.login}>
      <AvatarWithPresence id={m.user_id} name={name} status={status} size={32} avatar={m.avatar ?? ''} />
      <button type="button" className="member-names" onClick={() => setCard(true)} aria-haspopup="dialog">
        <span className="member-name">{name}</span>
        {statusText && (
          <span className="member-status" data-testid="member-status">
            {statusText}
          </span>
        )}
      </button>
      {m.role === 'ROLE_OWNER' && (
        <span className="role-tag" title="Owner" role="img" aria-label="owner">
          <CrownIcon />
        </span>
      )}
      {m.role === 'ROLE_ADMIN' && <span className="role-tag small">admin</span>}
      {card && <ProfileCard userId={userId} fallbackName={name} fallbackLogin={m.login} onClose={() => setCard(false)} />}
    </li>
  )
}
