// The signed-in app: layout, routing, and the effects that keep the
// controller in step with what is on screen. The state lives in a zustand
// store; the shell subscribes only to the few slices that decide the layout.
import { useCallback, useEffect, useMemo, useState } from 'react'
import type { Accord } from '../api/accord'
import type { User } from '../api/types'
import { startAttention } from '../lib/attention'
import { PHONE, useMediaQuery, WIDE } from '../lib/media'
import { navigate, useRoute, type Route } from '../lib/route'
import { Controller } from '../state/controller'
import { channelsOf, dmPartner, initialState, isGuild, reducer, watchedUsers, type State } from '../state/reducer'
import { createAppStore, StateContext, StoreContext, useApp, type AppStore, type Store } from '../state/store'
import { AddServerDialog } from './AddServerDialog'
import { ChatPane } from './ChatPane'
import { FriendsView } from './FriendsView'
import { MemberList } from './MemberList'
import { ServerRail } from './ServerRail'
import { ServerSettings } from './ServerSettings'
import { Sidebar } from './Sidebar'
import { StatsPage } from './StatsPage'

/** routeChannel is the channel a route shows: the one named, or the server's first. */
export function routeChannel(s: State, route: Route): string | undefined {
  let id: string | undefined
  if (route.name === 'server') id = route.channelId ?? channelsOf(s, route.serverId)[0]?.id
  else if (route.name === 'dm') id = channelsOf(s, route.serverId)[0]?.id
  return id && s.channels[id] ? id : undefined
}

/** startTypingPrune expires typing indicators once a second while any are shown, outside React. */
function startTypingPrune(store: AppStore): () => void {
  let timer: ReturnType<typeof setInterval> | null = null
  const sync = (s: State) => {
    const any = Object.keys(s.typing).length > 0
    if (any && !timer) timer = setInterval(() => store.dispatch({ type: 'typingPruned', now: Date.now() }), 1000)
    else if (!any && timer) {
      clearInterval(timer)
      timer = null
    }
  }
  sync(store.getState())
  const unsubscribe = store.subscribe(sync)
  return () => {
    unsubscribe()
    if (timer) clearInterval(timer)
  }
}

export function Shell({ api, me }: { api: Accord; me: User }) {
  const [store] = useState(() => createAppStore(reducer(initialState, { type: 'signedIn', me })))
  const [ctl] = useState(
    () =>
      new Controller(api, me.id, store.dispatch, store.getState, () => {
        void api.http.logout()
      }),
  )
  useEffect(() => {
    ctl.start()
    return () => {
      void ctl.stop()
    }
  }, [ctl])
  useEffect(() => startTypingPrune(store), [store])
  useEffect(() => startAttention(store), [store])
  // The socket closes first: it ends the presence session, which needs the session's token.
  const signOut = useCallback(() => {
    void ctl.stop().then(() => api.http.logout())
  }, [api, ctl])
  const phone = useMediaQuery(PHONE)
  // On a phone the servers and channels live in a drawer; following a link in it closes it.
  const [navWanted, setNavWanted] = useState(false)
  const openNav = useCallback(() => setNavWanted(true), [])
  const services: Store = useMemo(() => ({ ctl, api, signOut, openNav: phone ? openNav : undefined }), [ctl, api, signOut, phone, openNav])
  return (
    <StateContext.Provider value={store}>
      <StoreContext.Provider value={services}>
        <Layout ctl={ctl} store={store} navOpen={phone && navWanted} setNavOpen={setNavWanted} phone={phone} />
      </StoreContext.Provider>
    </StateContext.Provider>
  )
}

function Layout({
  ctl,
  store,
  navOpen,
  setNavOpen,
  phone,
}: {
  ctl: Controller
  store: AppStore
  navOpen: boolean
  setNavOpen: (v: boolean) => void
  phone: boolean
}) {
  const route = useRoute()
  const [settingsFor, setSettingsFor] = useState<string | null>(null)
  const [adding, setAdding] = useState(false)
  // The member list shows by default on wide windows only; a toggle overrides that for the current width class.
  const wide = useMediaQuery(WIDE)
  const [membersPref, setMembersPref] = useState<{ wide: boolean; show: boolean } | null>(null)
  const showMembers = membersPref && membersPref.wide === wide ? membersPref.show : wide
  const toggleMembers = useCallback(() => setMembersPref({ wide, show: !showMembers }), [wide, showMembers])
  const closeNav = useCallback(() => setNavOpen(false), [setNavOpen])

  const serverId = route.name === 'server' || route.name === 'dm' ? route.serverId : undefined
  const channelId = useApp((s) => routeChannel(s, route))
  const server = useApp((s) => (serverId ? s.servers[serverId] : undefined))
  const partner = useApp((s) => (server && !isGuild(server) ? dmPartner(s, server) : undefined))
  const serversLoaded = useApp((s) => s.serverOrder.length > 0 || Object.keys(s.servers).length > 0)
  const settingsServer = useApp((s) => (settingsFor ? s.servers[settingsFor] : undefined))

  useEffect(() => {
    if (route.name === 'server' && !route.channelId && channelId) navigate({ name: 'server', serverId: route.serverId, channelId }, true)
  }, [route, channelId])

  // A server that disappears (left, kicked, deleted) sends the user home.
  const serverGone = !!serverId && serversLoaded && !server
  useEffect(() => {
    if (!serverGone || !serverId) return
    const t = setTimeout(() => {
      if (!store.getState().servers[serverId]) navigate({ name: 'home' }, true)
    }, 1500)
    return () => clearTimeout(t)
  }, [serverGone, serverId, store])

  useEffect(() => {
    ctl.openChannel(channelId ?? null)
  }, [ctl, channelId])

  const guildId = server && isGuild(server) ? server.id : undefined
  useEffect(() => {
    if (guildId) void ctl.loadMembers(guildId).catch(() => undefined)
  }, [ctl, guildId])

  // Presence: friends, conversation partners, the open server's members, and me.
  const watchKey = useApp((s) => watchedUsers(s, serverId).join(','))
  useEffect(() => {
    ctl.watchPresence(watchKey.split(','))
  }, [ctl, watchKey])

  // Reading: the newest message of the channel on screen is read while the page is visible.
  const lastId = useApp((s) => (channelId ? s.messages[channelId]?.ids.at(-1) : undefined))
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
      const s = store.getState()
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
  }, [route, channelId, store])

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
    main = (
      <ChatPane
        key={channelId}
        channelId={channelId}
        partnerId={partner}
        membersShown={isGuild(server) && showMembers}
        onToggleMembers={isGuild(server) ? toggleMembers : undefined}
      />
    )
    if (isGuild(server) && showMembers) members = <MemberList serverId={server.id} onClose={phone ? toggleMembers : undefined} />
  }

  return (
    <>
      <div
        className={'app' + (members ? ' with-members' : '') + (navOpen ? ' nav-open' : '')}
        onKeyDown={(e) => {
          if (e.key === 'Escape' && navOpen) closeNav()
        }}
        onClick={(e) => {
          if (navOpen && (e.target as HTMLElement).closest('.rail a[href], .sidebar a[href]')) closeNav()
        }}
      >
        <ConnectionBanner />
        <ServerRail route={route} onAdd={() => setAdding(true)} />
        <Sidebar route={route} serverId={serverId} channelId={channelId} onSettings={(id) => setSettingsFor(id)} />
        {phone && (navOpen || members) && (
          <div className="drawer-backdrop" aria-hidden="true" onClick={navOpen ? closeNav : toggleMembers} data-testid="drawer-backdrop" />
        )}
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
      {settingsFor && settingsServer && <ServerSettings serverId={settingsFor} onClose={() => setSettingsFor(null)} />}
    </>
  )
}

function ConnectionBanner() {
  const connection = useApp((s) => s.connection)
  if (connection === 'reconnecting')
    return (
      <div className="banner" role="status" data-testid="reconnecting-banner">
        Reconnecting…
      </div>
    )
  if (connection === 'connecting')
    return (
      <div className="banner subtle" role="status">
        Connecting…
      </div>
    )
  return null
}
