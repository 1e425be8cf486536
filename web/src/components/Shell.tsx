// The signed-in app: layout, routing, and the effects that keep the
// controller in step with what is on screen.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react'
import type { Accord } from '../api/accord'
import type { User } from '../api/types'
import { Controller } from '../state/controller'
import { channelsOf, dmPartner, initialState, isGuild, reducer, type Action, type State } from '../state/reducer'
import { StoreContext, type Store } from '../state/store'
import { navigate, useRoute } from '../lib/route'
import { ServerRail } from './ServerRail'
import { Sidebar } from './Sidebar'
import { ChatPane } from './ChatPane'
import { MemberList } from './MemberList'
import { FriendsView } from './FriendsView'
import { ServerSettings } from './ServerSettings'
import { StatsPage } from './StatsPage'
import { AddServerDialog } from './AddServerDialog'

export function Shell({ api, me }: { api: Accord; me: User }) {
  const stateRef = useRef<State>(reducer(initialState, { type: 'signedIn', me }))
  const [state, setState] = useState<State>(stateRef.current)
  // The controller reads the newest state synchronously, between renders.
  const dispatch = useCallback((a: Action) => {
    stateRef.current = reducer(stateRef.current, a)
    setState(stateRef.current)
  }, [])
  const [ctl] = useState(
    () =>
      new Controller(api, me.id, dispatch, () => stateRef.current, () => {
        void api.http.logout()
      }),
  )
  useEffect(() => {
    ctl.start()
    return () => {
      void ctl.stop()
    }
  }, [ctl])
  // The socket closes first: it ends the presence session, which needs the session's token.
  const signOut = useCallback(() => {
    void ctl.stop().then(() => api.http.logout())
  }, [api, ctl])

  const route = useRoute()
  const [settingsFor, setSettingsFor] = useState<string | null>(null)
  const [adding, setAdding] = useState(false)
  const [showMembers, setShowMembers] = useState(() => window.innerWidth > 900)

  // Which channel the route shows.
  let serverId: string | undefined
  let channelId: string | undefined
  if (route.name === 'server') {
    serverId = route.serverId
    channelId = route.channelId ?? channelsOf(state, route.serverId)[0]?.id
  } else if (route.name === 'dm') {
    serverId = route.serverId
    channelId = channelsOf(state, route.serverId)[0]?.id
  }
  const server = serverId ? state.servers[serverId] : undefined
  if (channelId && !state.channels[channelId]) channelId = undefined

  useEffect(() => {
    if (route.name === 'server' && !route.channelId && channelId) navigate({ name: 'server', serverId: route.serverId, channelId }, true)
  }, [route, channelId])

  // A server that disappears (left, kicked, deleted) sends the user home.
  const serversLoaded = state.serverOrder.length > 0 || Object.keys(state.servers).length > 0
  useEffect(() => {
    if (serverId && serversLoaded && !state.servers[serverId]) {
      const t = setTimeout(() => {
        if (!stateRef.current.servers[serverId]) navigate({ name: 'home' }, true)
      }, 1500)
      return () => clearTimeout(t)
    }
  }, [serverId, serversLoaded, state.servers])

  useEffect(() => {
    ctl.openChannel(channelId ?? null)
  }, [ctl, channelId])

  useEffect(() => {
    if (serverId && server && isGuild(server)) void ctl.loadMembers(serverId).catch(() => undefined)
  }, [ctl, serverId, server])

  // Presence: friends, conversation partners, the open server's members, and me.
  const watchKey = useMemo(() => {
    const ids = new Set<string>([me.id])
    for (const r of Object.values(state.relationships)) if (r.type === 'RELATIONSHIP_TYPE_FRIEND') ids.add(r.user_id)
    for (const s of Object.values(state.servers)) if (!isGuild(s)) for (const u of s.dm_user_ids ?? []) ids.add(u)
    if (serverId) for (const u of Object.keys(state.members[serverId] ?? {})) ids.add(u)
    return [...ids].sort().join(',')
  }, [me.id, state.relationships, state.servers, state.members, serverId])
  useEffect(() => {
    ctl.watchPresence(watchKey.split(','))
  }, [ctl, watchKey])

  // Typing indicators expire.
  const anyTyping = Object.keys(state.typing).length > 0
  useEffect(() => {
    if (!anyTyping) return
    const t = setInterval(() => dispatch({ type: 'typingPruned', now: Date.now() }), 1000)
    return () => clearInterval(t)
  }, [anyTyping, dispatch])

  // Reading: the newest message of the channel on screen is read while the page is visible.
  const lastId = channelId ? state.messages[channelId]?.ids.at(-1) : undefined
  const [visible, setVisible] = useState(() => document.visibilityState === 'visible')
  useEffect(() => {
    const on = () => setVisible(document.visibilityState === 'visible')
    document.addEventListener('visibilitychange', on)
    return () => document.removeEventListener('visibilitychange', on)
  }, [])
  useEffect(() => {
    // At once rather than debounced: timers of a page without focus may be throttled for
    // seconds, and the marker must land before the tab goes away.
    if (channelId && lastId && visible) ctl.markRead(channelId)
  }, [ctl, channelId, lastId, visible])

  useEffect(() => {
    const on = () => ctl.socket.reconnectNow()
    const off = () => ctl.socket.drop()
    window.addEventListener('online', on)
    window.addEventListener('offline', off)
    return () => {
      window.removeEventListener('online', on)
      window.removeEventListener('offline', off)
    }
  }, [ctl])

  // Alt+ArrowUp / Alt+ArrowDown move between the channels (or conversations) of the sidebar.
  useEffect(() => {
    const on = (e: KeyboardEvent) => {
      if (!e.altKey || (e.key !== 'ArrowUp' && e.key !== 'ArrowDown')) return
      const s = stateRef.current
      const d = e.key === 'ArrowUp' ? -1 : 1
      if (route.name === 'server') {
        const list = channelsOf(s, route.serverId)
        const i = list.findIndex((c) => c.id === channelId)
        const next = list[i + d]
        if (next) navigate({ name: 'server', serverId: route.serverId, channelId: next.id })
      } else if (route.name === 'dm' || route.name === 'home') {
        const dms = s.serverOrder.filter((id) => s.servers[id] && !isGuild(s.servers[id]))
        const i = route.name === 'dm' ? dms.indexOf(route.serverId) : -1
        const next = dms[i + d]
        if (next) navigate({ name: 'dm', serverId: next })
        else if (i + d < 0) navigate({ name: 'home' })
      }
      e.preventDefault()
    }
    window.addEventListener('keydown', on)
    return () => window.removeEventListener('keydown', on)
  }, [route, channelId])

  const store: Store = useMemo(() => ({ state, ctl, api, signOut }), [state, ctl, api, signOut])

  let main
  let members = null
  if (route.name === 'stats') {
    main = <StatsPage />
  } else if (route.name === 'home') {
    main = <FriendsView />
  } else if (!server) {
    main = <div className="empty-pane">{serversLoaded ? 'This server is not available.' : 'Loading…'}</div>
  } else if (!channelId) {
    main = <div className="empty-pane">{isGuild(server) ? 'No channels yet.' : 'Loading…'}</div>
  } else {
    const partner = !isGuild(server) ? dmPartner(state, server) : undefined
    main = (
      <ChatPane
        key={channelId}
        channelId={channelId}
        partnerId={partner}
        membersShown={isGuild(server) && showMembers}
        onToggleMembers={isGuild(server) ? () => setShowMembers((v) => !v) : undefined}
      />
    )
    if (isGuild(server) && showMembers) members = <MemberList serverId={server.id} />
  }

  const banner =
    state.connection === 'reconnecting' ? (
      <div className="banner" role="status" data-testid="reconnecting-banner">
        Reconnecting…
      </div>
    ) : state.connection === 'connecting' ? (
      <div className="banner subtle" role="status">
        Connecting…
      </div>
    ) : null

  return (
    <StoreContext.Provider value={store}>
      <div className={'app' + (members ? ' with-members' : '')}>
        {banner}
        <ServerRail route={route} onAdd={() => setAdding(true)} />
        <Sidebar route={route} serverId={serverId} channelId={channelId} onSettings={(id) => setSettingsFor(id)} />
        <main className="main" aria-label="Content">
          {main}
        </main>
        {members}
      </div>
      {adding && (
        <AddServerDialog
          onClose={() => setAdding(false)}
          onDone={(id) => {
            setAdding(false)
            navigate({ name: 'server', serverId: id })
          }}
        />
      )}
      {settingsFor && state.servers[settingsFor] && (
        <ServerSettings serverId={settingsFor} onClose={() => setSettingsFor(null)} />
      )}
    </StoreContext.Provider>
  )
}
