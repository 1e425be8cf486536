// The second column: a server's channels, or friends and conversations at home;
// the signed-in user's panel at the bottom.
import type { Status } from '../api/types'
import { routeHref, type Route } from '../lib/route'
import { channelsOf, displayName, dmPartner, isGuild, mentionsOfChannel, mentionsOfServer, presenceOf, unreadOfChannel, unreadOfServer } from '../state/reducer'
import { MentionBadge } from './MentionBadge'
import { errorText } from '../state/controller'
import { useApp, useAppList, useStore } from '../state/store'
import { navigate } from '../lib/route'
import { AvatarWithPresence, Badge } from './common'
import { FriendsIcon, GearIcon, LeaveIcon, PlusIcon, SignOutIcon } from './icons'
import { useState } from 'react'
import { CreateChannelDialog } from './CreateChannelDialog'
import { UserSettings } from './UserSettings'

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
  const server = useApp((s) => (serverId ? s.servers[serverId] : undefined))
  const guild = route.name === 'server' && server && isGuild(server) ? server : undefined
  return (
    <aside className="sidebar" aria-label={guild ? `${guild.name} channels` : 'Friends and conversations'}>
      {guild ? <ChannelList serverId={guild.id} channelId={channelId} onSettings={onSettings} /> : <HomeList route={route} />}
      <UserPanel />
    </aside>
  )
}

function ChannelList({ serverId, channelId, onSettings }: { serverId: string; channelId?: string; onSettings: (id: string) => void }) {
  const { api } = useStore()
  const server = useApp((s) => s.servers[serverId])
  const canManage = server.my_role === 'ROLE_OWNER' || server.my_role === 'ROLE_ADMIN'
  const channels = useAppList((s) => channelsOf(s, serverId))
  const [creating, setCreating] = useState(false)
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
        <div className="section-head">
          <h3 className="section-title">Text channels</h3>
          {canManage && (
            <button type="button" className="icon-button small" aria-label="Create channel" title="Create channel" onClick={() => setCreating(true)}>
              <PlusIcon />
            </button>
          )}
        </div>
        <ul>
          {channels.map((c) => (
            <ChannelLink key={c.id} serverId={serverId} id={c.id} name={c.name} active={c.id === channelId} />
          ))}
        </ul>
      </nav>
      {creating && <CreateChannelDialog serverId={serverId} onClose={() => setCreating(false)} />}
    </>
  )
}

function HomeList({ route }: { route: Route }) {
  const dms = useAppList((st) => st.serverOrder.filter((id) => st.servers[id] && !isGuild(st.servers[id])))
  const incoming = useApp((st) => Object.values(st.relationships).filter((r) => r.type === 'RELATIONSHIP_TYPE_INCOMING_REQUEST').length)
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
          {dms.map((id) => (
            <DmLink key={id} id={id} active={route.name === 'dm' && route.serverId === id} />
          ))}
        </ul>
      </nav>
    </>
  )
}

function ChannelLink({ serverId, id, name, active }: { serverId: string; id: string; name: string; active: boolean }) {
  const unread = useApp((s) => unreadOfChannel(s, id))
  const mentions = useApp((s) => mentionsOfChannel(s, id))
  return (
    <li>
      <a
        href={routeHref({ name: 'server', serverId, channelId: id })}
        className={'channel-link' + (active ? ' active' : '') + (unread > 0 ? ' unread' : '')}
        aria-current={active ? 'page' : undefined}
        data-testid="channel-link"
      >
        <span className="hash" aria-hidden="true">
          #
        </span>
        <span className="channel-name">{name}</span>
        {mentions > 0 ? <MentionBadge count={mentions} /> : <Badge count={unread} />}
      </a>
    </li>
  )
}

function DmLink({ id, active }: { id: string; active: boolean }) {
  const other = useApp((st) => (st.servers[id] ? dmPartner(st, st.servers[id]) : undefined) ?? '')
  const unread = useApp((st) => unreadOfServer(st, id))
  const mentions = useApp((st) => mentionsOfServer(st, id))
  const name = useApp((st) => displayName(st, other))
  const status = useApp((st) => presenceOf(st, other))
  return (
    <li>
      <a
        href={routeHref({ name: 'dm', serverId: id })}
        className={'channel-link dm' + (active ? ' active' : '') + (unread > 0 ? ' unread' : '')}
        aria-current={active ? 'page' : undefined}
        data-testid="dm-link"
      >
        <AvatarWithPresence id={other} name={name} status={status} size={28} />
        <span className="channel-name">{name}</span>
        {mentions > 0 ? <MentionBadge count={mentions} /> : <Badge count={unread} />}
      </a>
    </li>
  )
}

const STATUSES: { value: Status; label: string }[] = [
  { value: 'STATUS_ONLINE', label: 'Online' },
  { value: 'STATUS_IDLE', label: 'Idle' },
  { value: 'STATUS_DND', label: 'Do not disturb' },
  { value: 'STATUS_INVISIBLE', label: 'Invisible' },
]

function UserPanel() {
  const { ctl, signOut } = useStore()
  const me = useApp((s) => s.me!)
  const name = me.display_name || me.login
  const mine = useApp((s) => presenceOf(s, me.id))
  const [settings, setSettings] = useState(false)
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
      <button type="button" className="icon-button" onClick={() => setSettings(true)} aria-label="User settings" title="User settings">
        <GearIcon />
      </button>
      <button type="button" className="icon-button" onClick={signOut} aria-label="Sign out" title="Sign out">
        <SignOutIcon />
      </button>
      {settings && <UserSettings onClose={() => setSettings(false)} />}
    </div>
  )
}
