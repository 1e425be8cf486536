// The server rail: home (friends and conversations), one icon per server, add and stats.
import type { Route } from '../lib/route'
import { routeHref } from '../lib/route'
import { isGuild, mentionsOfServer, unreadOfServer } from '../state/reducer'
import { MentionBadge } from './MentionBadge'
import { InboxButton } from './InboxButton'
import { useApp, useAppList } from '../state/store'
import { Badge, hue, initials, usePicture } from './common'

export function ServerRail({ route, onAdd }: { route: Route; onAdd: () => void }) {
  const guilds = useAppList((st) => st.serverOrder.filter((id) => st.servers[id] && isGuild(st.servers[id])))
  const dmUnread = useApp((st) => {
    let n = 0
    for (const s of Object.values(st.servers)) if (!isGuild(s)) n += unreadOfServer(st, s.id)
    return n
  })
  const incoming = useApp((st) => Object.values(st.relationships).filter((r) => r.type === 'RELATIONSHIP_TYPE_INCOMING_REQUEST').length)
  const homeActive = route.name === 'home' || route.name === 'dm'
  return (
    <nav className="rail" aria-label="Servers">
      <a href={routeHref({ name: 'home' })} className={'rail-item home' + (homeActive ? ' active' : '')} aria-current={homeActive ? 'page' : undefined} title="Home">
        <span className="visually-hidden">
          Home: friends and conversations{dmUnread + incoming > 0 ? `, ${dmUnread + incoming} notifications` : ''}
        </span>
        <span className="rail-icon" aria-hidden="true">
          A
        </span>
        <Badge count={dmUnread + incoming} decorative />
      </a>
      <InboxButton />
      <div className="rail-sep" role="separator" />
      <ul className="rail-list">
        {guilds.map((id) => (
          <RailServer key={id} id={id} active={route.name === 'server' && route.serverId === id} />
        ))}
      </ul>
      <button type="button" className="rail-item add" onClick={onAdd} aria-label="Create or join a server" title="Create or join a server">
        <span className="rail-icon" aria-hidden="true">
          +
        </span>
      </button>
      <a href={routeHref({ name: 'stats' })} className={'rail-item rail-stats' + (route.name === 'stats' ? ' active' : '')} aria-label="Stats" title="Stats" aria-current={route.name === 'stats' ? 'page' : undefined}>
        <span className="rail-icon" aria-hidden="true">
          <svg width="22" height="22" viewBox="0 0 24 24" fill="currentColor">
            <rect x="3" y="12" width="4" height="9" rx="1" />
            <rect x="10" y="6" width="4" height="15" rx="1" />
            <rect x="17" y="9" width="4" height="12" rx="1" />
          </svg>
        </span>
      </a>
    </nav>
  )
}

/** ServerIcon is the server's picture, or its initials when it has none. */
export function ServerIcon({ id, name, icon, active }: { id: string; name: string; icon?: string; active: boolean }) {
  const url = usePicture(`/v1/servers/${encodeURIComponent(id)}/icon`, icon)
  if (url)
    return (
      <span className="rail-icon picture" aria-hidden="true">
        <img src={url} alt="" width={48} height={48} data-icon={icon} />
      </span>
    )
  return (
    <span className="rail-icon" aria-hidden="true" style={{ background: active ? undefined : `hsl(${hue(id)} 35% 28%)` }}>
      {initials(name)}
    </span>
  )
}

function RailServer({ id, active }: { id: string; active: boolean }) {
  const s = useApp((st) => st.servers[id])
  const unread = useApp((st) => unreadOfServer(st, id))
  const mentions = useApp((st) => mentionsOfServer(st, id))
  if (!s) return null
  return (
    <li>
      <a
        href={routeHref({ name: 'server', serverId: s.id })}
        className={'rail-item' + (active ? ' active' : '') + (unread > 0 ? ' unread' : '')}
        aria-current={active ? 'page' : undefined}
        title={s.name}
        data-testid="server-icon"
      >
        <span className="visually-hidden">
          {s.name}
          {unread > 0 ? `, ${unread} unread` : ''}
          {mentions > 0 ? `, ${mentions} ${mentions === 1 ? 'mention' : 'mentions'}` : ''}
        </span>
        <ServerIcon id={s.id} name={s.name ?? '?'} icon={s.icon} active={active} />
        {mentions > 0 ? <MentionBadge count={mentions} decorative /> : <Badge count={unread} decorative />}
      </a>
    </li>
  )
}
