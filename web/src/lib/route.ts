// Hash routes, so a refresh reopens the same screen and the gateway only has
// to serve index.html at "/".
import { useEffect, useState } from 'react'

export type Route =
  | { name: 'home' }
  | { name: 'dm'; serverId: string }
  | { name: 'server'; serverId: string; channelId?: string }
  | { name: 'stats' }

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent)
  if (parts[0] === 'stats') return { name: 'stats' }
  if (parts[0] === 's' && parts[1]) return { name: 'server', serverId: parts[1], channelId: parts[2] }
  if (parts[0] === 'dm' && parts[1]) return { name: 'dm', serverId: parts[1] }
  return { name: 'home' }
}

export function routeHref(r: Route): string {
  switch (r.name) {
    case 'home':
      return '#/'
    case 'stats':
      return '#/stats'
    case 'dm':
      return `#/dm/${r.serverId}`
    case 'server':
      return r.channelId ? `#/s/${r.serverId}/${r.channelId}` : `#/s/${r.serverId}`
  }
}

export function navigate(r: Route, replace = false): void {
  const href = routeHref(r)
  if (window.location.hash === href) return
  if (replace) window.history.replaceState(null, '', href)
  else window.location.hash = href
  if (replace) window.dispatchEvent(new HashChangeEvent('hashchange'))
}

/** useRoute follows the location hash. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash))
  useEffect(() => {
    const on = () => setRoute(parseRoute(window.location.hash))
    window.addEventListener('hashchange', on)
    return () => window.removeEventListener('hashchange', on)
  }, [])
  return route
}
