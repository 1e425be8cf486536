// Test harness for components: the real reducer and controller (never started,
// so no socket) around a fake fetch that answers from a table of routes.
import { act, render, type RenderResult } from '@testing-library/react'
import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { useMemo, useState, type ReactNode } from 'react'
import { Accord } from '../api/accord'
import { ApiClient } from '../api/client'
import type { User } from '../api/types'
import { Controller } from '../state/controller'
import { initialState, reducer, type Action, type State } from '../state/reducer'
import { createAppStore, StateContext, StoreContext, type Store } from '../state/store'

export const me: User = { id: 'u-me', login: 'me', display_name: 'Me' }

/** Route answers a request: a JSON body, or a status with an error body. */
export type Route = (req: { method: string; url: URL; body: unknown }) => unknown | { status: number; body: unknown } | undefined

export interface Harness extends RenderResult {
  requests: { method: string; path: string; body: unknown }[]
  getState: () => State
  dispatch: (a: Action) => void
}

class Memory {
  private m = new Map<string, string>()
  getItem(k: string) {
    return this.m.get(k) ?? null
  }
  setItem(k: string, v: string) {
    this.m.set(k, v)
  }
  removeItem(k: string) {
    this.m.delete(k)
  }
}

export function fakeApi(routes: Record<string, Route>, requests: Harness['requests']): Accord {
  const storage = new Memory()
  const far = new Date(Date.now() + 3_600_000).toISOString()
  storage.setItem('accord.session', JSON.stringify({ user: me, tokens: { access_token: 'a', access_token_expire_time: far, refresh_token: 'r' } }))
  const fetchImpl = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input), 'http://test')
    const method = init?.method ?? 'GET'
    const body = init?.body ? JSON.parse(String(init.body)) : undefined
    requests.push({ method, path: url.pathname, body })
    const route = routes[`${method} ${url.pathname}`]
    const out = route ? route({ method, url, body }) : undefined
    if (out && typeof out === 'object' && 'status' in out && typeof (out as { status: unknown }).status === 'number') {
      const o = out as { status: number; body: unknown }
      return new Response(JSON.stringify(o.body), { status: o.status, headers: { 'Content-Type': 'application/json' } })
    }
    return new Response(JSON.stringify(out ?? {}), { status: 200, headers: { 'Content-Type': 'application/json' } })
  }) as typeof fetch
  return new Accord(new ApiClient({ storage, fetchImpl }))
}

/** renderWithStore renders ui inside the signed-in app's store, starting from state. */
export function renderWithStore(ui: ReactNode, opts: { state?: (s: State) => State; routes?: Record<string, Route> } = {}): Harness {
  const requests: Harness['requests'] = []
  const api = fakeApi(opts.routes ?? {}, requests)
  let start: State = reducer(initialState, { type: 'signedIn', me })
  if (opts.state) start = opts.state(start)
  const store = createAppStore(start)
  function Provider({ children }: { children: ReactNode }) {
    const [ctl] = useState(() => new Controller(api, me.id, store.dispatch, store.getState, () => undefined))
    const [client] = useState(() => new QueryClient({ defaultOptions: { queries: { retry: false } } }))
    const services: Store = useMemo(() => ({ ctl, api, signOut: () => undefined }), [ctl])
    return (
      <QueryClientProvider client={client}>
        <StateContext.Provider value={store}>
          <StoreContext.Provider value={services}>{children}</StoreContext.Provider>
        </StateContext.Provider>
      </QueryClientProvider>
    )
  }
  const r = render(<Provider>{ui}</Provider>)
  return Object.assign(r, { requests, getState: store.getState, dispatch: (a: Action) => act(() => store.dispatch(a)) })
}
