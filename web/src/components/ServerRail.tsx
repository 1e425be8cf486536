// The server rail: home (friends and conversations), one icon per server, add and stats.
import type { Route } from '../lib/route'
import { routeHref } from '../lib/route'
import { isGuild, unreadOfServer } from '../state/reducer'
import { useStore } from '../state/store'
import { Badge, hue, initials } from './common'

export function ServerRail({ route, onAdd }: { route: Route; onAdd: () => void }) {
  const { state } = useStore()
  const guilds = state.serverOrder.map((id) => state.servers[id]).filter((s) => s && isGuild(s))
  let dmUnread = 0
  for (const s of Object.values(state.servers)) if (!isGuild(s)) dmUnread += unreadOfServer(state, s.id)
  const incoming = Object.values(state.relationships).filter((r) => r.type === 'RELATIONSHIP_TYPE_INCOMING_REQUEST').length
  const homeActive = route.name === 'home' || route.name === 'dm'
  return (
    <nav className="rail" aria-label="Servers">
      <a href={routeHref({ name: 'home' })} className={'rail-item home' + (homeActive ? ' active' : '')} aria-label="Home: friends and conversations" aria-current={homeActive ? 'page' : undefined} title="Home">
        <span className="rail-icon">A</span>
        <Badge count={dmUnread + incoming} label={`${dmUnread + incoming} notifications`} />
      </a>
      <div className="rail-sep" role="separator" />
      <ul className="rail-list">
        {guilds.map((s) => {
          const active = route.name === 'server' && route.serverId === s.id
          const unread = unreadOfServer(state, s.id)
          return (
            <li key={s.id}>
              <a
                href={routeHref({ name: 'server', serverId: s.id })}
                className={'rail-item' + (active ? ' active' : '') + (unread > 0 ? ' unread' : '')}
                aria-label={`${s.name}${unread > 0 ? `, ${unread} unread` : ''}`}
                aria-current={active ? 'page' : undefined}
                title={s.name}
                data-testid="server-icon"
              >
                <span className="rail-icon" style={{ background: active ? undefined : `hsl(${hue(s.id)} 35% 32%)` }}>
                  {initials(s.name ?? '?')}
                </span>
                <Badge count={unread} />
              </a>
            </li>
          )
        })}
      </ul>
      <button type="button" className="rail-item add" onClick={onAdd} aria-label="Create or join a server" title="Create or join a server">
        <span className="rail-icon">+</span>
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
