// @vitest-environment jsdom
import { act, cleanup, render } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import { initialState, presenceOf, reducer } from './reducer'
import { createAppStore, StateContext, useApp } from './store'

afterEach(cleanup)

const start = () => reducer(initialState, { type: 'signedIn', me: { id: 'me', login: 'me' } })

describe('app store', () => {
  it('notifies nobody when an action changes nothing (the typing prune with nothing expired)', () => {
    const store = createAppStore(start())
    store.dispatch({ type: 'event', event: { scope: 's', typing: { server_id: 's', channel_id: 'c', user_id: 'u', display_name: 'U', expire_time: new Date(Date.now() + 60_000).toISOString() } } })
    let calls = 0
    store.subscribe(() => calls++)
    store.dispatch({ type: 'typingPruned', now: Date.now() })
    expect(calls).toBe(0)
    store.dispatch({ type: 'typingPruned', now: Date.now() + 120_000 })
    expect(calls).toBe(1)
  })

  it('re-renders a component only when its slice changes', () => {
    const store = createAppStore(start())
    let renders = 0
    function Dot() {
      renders++
      return <span>{useApp((s) => presenceOf(s, 'bob'))}</span>
    }
    const { container } = render(
      <StateContext.Provider value={store}>
        <Dot />
      </StateContext.Provider>,
    )
    expect(renders).toBe(1)
    act(() => {
      store.dispatch({ type: 'event', event: { scope: 's', message_created: { id: 'a'.repeat(24), server_id: 's', channel_id: 'c', author_id: 'x', content: 'hi' } } })
      store.dispatch({ type: 'presence', presences: [{ user_id: 'alice', status: 'STATUS_ONLINE' }] })
      store.dispatch({ type: 'typingPruned', now: Date.now() })
    })
    expect(renders).toBe(1)
    act(() => store.dispatch({ type: 'presence', presences: [{ user_id: 'bob', status: 'STATUS_IDLE' }] }))
    expect(renders).toBe(2)
    expect(container.textContent).toBe('STATUS_IDLE')
  })
})
