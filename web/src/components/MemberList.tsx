// The member list of a server, grouped by role, online first, with presence dots.
import type { Member, Role } from '../api/types'
import { displayName, presenceOf } from '../state/reducer'
import { useStore } from '../state/store'
import { AvatarWithPresence } from './common'
import { CrownIcon } from './icons'

const ROLE_ORDER: Record<Role, number> = { ROLE_OWNER: 0, ROLE_ADMIN: 1, ROLE_MEMBER: 2, ROLE_UNSPECIFIED: 3 }

export function MemberList({ serverId }: { serverId: string }) {
  const { state } = useStore()
  const members = Object.values(state.members[serverId] ?? {})
  const name = (m: Member) => m.display_name || m.login || displayName(state, m.user_id)
  const online = (m: Member) => presenceOf(state, m.user_id) !== 'STATUS_OFFLINE' && presenceOf(state, m.user_id) !== 'STATUS_UNSPECIFIED'
  members.sort((a, b) => ROLE_ORDER[a.role ?? 'ROLE_UNSPECIFIED'] - ROLE_ORDER[b.role ?? 'ROLE_UNSPECIFIED'] || name(a).localeCompare(name(b)))
  const groups: [string, Member[]][] = [
    ['Online', members.filter(online)],
    ['Offline', members.filter((m) => !online(m))],
  ]
  return (
    <aside className="members" aria-label="Members">
      {groups.map(([title, list]) =>
        list.length === 0 ? null : (
          <section key={title}>
            <h3 className="section-title">
              {title} — {list.length}
            </h3>
            <ul>
              {list.map((m) => (
                <li key={m.user_id} className={'member' + (online(m) ? '' : ' offline')} data-testid="member" data-login={m.login}>
                  <AvatarWithPresence id={m.user_id} name={name(m)} status={presenceOf(state, m.user_id)} size={32} />
                  <span className="member-name">{name(m)}</span>
                  {m.role === 'ROLE_OWNER' && (
                    <span className="role-tag" title="Owner" aria-label="owner">
                      <CrownIcon />
                    </span>
                  )}
                  {m.role === 'ROLE_ADMIN' && <span className="role-tag small">admin</span>}
                </li>
              ))}
            </ul>
          </section>
        ),
      )}
    </aside>
  )
}
