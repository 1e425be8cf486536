// The root: the sign-in screen or the signed-in app, following the session.
import { useEffect, useState } from 'react'
import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import type { Accord } from './api/accord'
import type { Session } from './api/client'
import { AuthScreen } from './components/AuthScreen'
import { Shell } from './components/Shell'

export function App({ api }: { api: Accord }) {
  const [session, setSession] = useState<Session | null>(api.http.current)
  useEffect(() => api.http.onSession(setSession), [api])
  // Another tab signing in or out changes localStorage; follow it.
  useEffect(() => {
    const on = (e: StorageEvent) => {
      if (e.key === 'accord.session' && !e.newValue) window.location.reload()
    }
    window.addEventListener('storage', on)
    return () => window.removeEventListener('storage', on)
  }, [])
  // Refresh the access token a minute before it expires, so sockets and requests never wait for it.
  const expires = session?.tokens.access_token_expire_time
  useEffect(() => {
    if (!expires) return
    const ms = Math.max(5_000, Date.parse(expires) - Date.now() - 60_000)
    const t = setTimeout(() => {
      api.http.accessToken().catch(() => undefined)
    }, ms)
    return () => clearTimeout(t)
  }, [api, expires])
  if (!session) return <AuthScreen http={api.http} />
  // Keyed by user, so switching accounts starts from a clean state (and a clean query cache).
  return <SignedIn key={session.user.id} api={api} me={session.user} />
}

/** SignedIn holds one user's server-state cache (TanStack Query) around the app. */
function SignedIn({ api, me }: { api: Accord; me: Session['user'] }) {
  const [client] = useState(() => newQueryClient())
  return (
    <QueryClientProvider client={client}>
      <Shell api={api} me={me} />
    </QueryClientProvider>
  )
}

/** newQueryClient caches answers briefly and never retries a refusal (4xx). */
export function newQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 30_000,
        refetchOnWindowFocus: false,
        retry: (n, e) => n < 2 && (e as { transient?: boolean }).transient === true,
      },
    },
  })
}
