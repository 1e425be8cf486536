// The second column: a server's channels, or friends and conversations at home;
// the signed-in user's panel at the bottom.
import type { Status } from '../api/types'
import { routeHref, type Route } from '../lib/route'
import { channelsOf, displayName, dmPartner, isGuild, presenceOf, unreadOfChannel, unreadOfServer } from '../state/reducer'
import { errorText } from '../state/controller'
import { useStore } from '../state/store'
import { navigate } from '../lib/route'
import { AvatarWithPresence, Badge } from './common'
import { FriendsIcon, GearIcon, LeaveIcon, SignOutIcon } from './icons'

export function Sidebar({
  route,
  serverId,
  channelId,
  onSettings,
}: {
  route: Route
  serverId?: string
  channelId?: string
  onSettings: (serverId: string) => void
}) {
  const { state } = useStore()
  const server = serverId ? state.servers[serverId] : undefined
  const guild = route.name === 'server' && server && isGuild(server) ? server : undefined
  return (
    <aside className="sidebar" aria-label={guild ? `${guild.name} channels` : 'Friends and conversations'}>
      {guild ? <ChannelList serverId={guild.id} channelId={channelId} onSettings={onSettings} /> : <HomeList route={route} />}
      <UserPanel />
    </aside>
  )
}

function ChannelList({ serverId, channelId, onSettings }: { serverId: string; channelId?: string; onSettings: (id: string) => void }) {
  const { state, api } = useStore()
  const server = state.servers[serverId]
  const canManage = server.my_role === 'ROLE_OWNER' || server.my_role === 'ROLE_ADMIN'
  const channels = channelsOf(state, serverId)
  return (
    <>
      <header className="sidebar-head">
        <h2 title={server.name}>{server.name}</h2>
        {canManage ? (
          <button type="button" className="icon-button" aria-label="Server settings" title="Server settings" onClick={() => onSettings(serverId)}>
            <GearIcon />
          </button>
        ) : (
          <button
            type="button"
            className="icon-button"
            aria-label="Leave server"
            title="Leave server"
            onClick={async () => {
              if (!window.confirm(`Leave ${server.name}?`)) return
              try {
                await api.leaveServer(serverId)
                navigate({ name: 'home' })
              } catch (e) {
                window.alert(errorText(e))
              }
            }}
          >
            <LeaveIcon />
          </button>
        )}
      </header>
      <nav className="channel-list" aria-label="Channels">
        <h3 className="section-title">Text channels</h3>
        <ul>
          {channels.map((c) => {
            const unread = unreadOfChannel(state, c.id)
            const active = c.id === channelId
            return (
              <li key={c.id}>
                <a
                  href={routeHref({ name: 'server', serverId, channelId: c.id })}
                  className={'channel-link' + (active ? ' active' : '') + (unread > 0 ? ' unread' : '')}
                  aria-current={active ? 'page' : undefined}
                  data-testid="channel-link"
                >
                  <span className="hash" aria-hidden="true">
                    #
                  </span>
                  <span className="channel-name">{c.name}</span>
                  <Badge count={unread} />
                </a>
              </li>
            )
          })}
        </ul>
      </nav>
    </>
  )
}

function HomeList({ route }: { route: Route }) {
  const { state } = useStore()
  const dms = state.serverOrder.map((id) => state.servers[id]).filter((s) => s && !isGuild(s))
  const incoming = Object.values(state.relationships).filter((r) => r.type === 'RELATIONSHIP_TYPE_INCOMING_REQUEST').length
  return (
    <>
      <header className="sidebar-head">
        <h2>Home</h2>
      </header>
      <nav className="channel-list" aria-label="Conversations">
        <ul>
          <li>
            <a href={routeHref({ name: 'home' })} className={'channel-link' + (route.name === 'home' ? ' active' : '')} aria-current={route.name === 'home' ? 'page' : undefined}>
              <span className="hash" aria-hidden="true">
                <FriendsIcon />
              </span>
              <span className="channel-name">Friends</span>
              <Badge count={incoming} label={`${incoming} pending requests`} />
            </a>
          </li>
        </ul>
        <h3 className="section-title">Direct messages</h3>
        <ul>
          {dms.length === 0 && <li className="muted small pad">Open a conversation from your friends list.</li>}
          {dms.map((s) => {
            const other = dmPartner(state, s) ?? ''
            const active = route.name === 'dm' && route.serverId === s.id
            const unread = unreadOfServer(state, s.id)
            const name = displayName(state, other)
            return (
              <li key={s.id}>
                <a
                  href={routeHref({ name: 'dm', serverId: s.id })}
                  className={'channel-link dm' + (active ? ' active' : '') + (unread > 0 ? ' unread' : '')}
                  aria-current={active ? 'page' : undefined}
                  data-testid="dm-link"
                >
                  <AvatarWithPresence id={other} name={name} status={presenceOf(state, other)} size={28} />
                  <span className="channel-name">{name}</span>
                  <Badge count={unread} />
                </a>
              </li>
            )
          })}
        </ul>
      </nav>
    </>
  )
}

const STATUSES: { value: Status; label: string }[] = [
  { value: 'STATUS_ONLINE', label: 'Online' },
  { value: 'STATUS_IDLE', label: 'Idle' },
  { value: 'STATUS_DND', label: 'Do not disturb' },
  { value: 'STATUS_INVISIBLE', label: 'Invisible' },
]

function UserPanel() {
  const { state, ctl, signOut } = useStore()
  const me = state.me!
  const name = me.display_name || me.login
  const mine = presenceOf(state, me.id)
  return (
    <div className="user-panel" aria-label="You">
      <AvatarWithPresence id={me.id} name={name} status={mine} size={32} />
      <div className="user-names">
        <strong data-testid="me-name">{name}</strong>
        <select
          aria-label="Your status"
          className="status-select"
          value={mine === 'STATUS_OFFLINE' ? 'STATUS_INVISIBLE' : mine === 'STATUS_UNSPECIFIED' ? 'STATUS_ONLINE' : mine}
          onChange={(e) => ctl.setStatus(e.target.value as Status)}
        >
          {STATUSES.map((s) => (
            <option key={s.value} value={s.value}>
              {s.label}
            </option>
          ))}
        </select>
      </div>
      <button type="button" className="icon-button" onClick={signOut} aria-label="Sign out" title="Sign out">
        <SignOutIcon />
      </button>
    </div>
  )
}
