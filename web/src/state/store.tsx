// React glue. The app state lives in a zustand store outside React; components
// subscribe to the slice they show (useApp(selector)), so a presence, typing or
// message event re-renders only what shows it. The controller, the API client
// and a few callbacks are shared by context and never change.
import { createContext, useContext } from 'react'
import { createStore, useStore as useZustand, type StoreApi } from 'zustand'
import { useShallow } from 'zustand/react/shallow'
import type { Accord } from '../api/accord'
import type { Controller } from './controller'
import { reducer, type Action, type State } from './reducer'

/** AppStore holds the state; dispatch folds an action in through the reducer. */
export interface AppStore extends StoreApi<State> {
  dispatch: (a: Action) => void
}

/** createAppStore makes a store starting at state. An action that changes nothing notifies nobody. */
export function createAppStore(state: State): AppStore {
  const store = createStore<State>()(() => state) as AppStore
  store.dispatch = (a) => {
    const prev = store.getState()
    const next = reducer(prev, a)
    if (next !== prev) store.setState(next, true)
  }
  return store
}

export interface Store {
  ctl: Controller
  api: Accord
  signOut: () => void
  /** openNav opens the server and channel drawer; set on phone-sized windows only. */
  openNav?: () => void
}

export const StateContext = createContext<AppStore | null>(null)
export const StoreContext = createContext<Store | null>(null)

/** useStore returns the signed-in app's services (controller, API, callbacks). */
export function useStore(): Store {
  const s = useContext(StoreContext)
  if (!s) throw new Error('useStore outside the signed-in app')
  return s
}

/** useAppStore returns the state store itself (for reads in event handlers). */
export function useAppStore(): AppStore {
  const s = useContext(StateContext)
  if (!s) throw new Error('useAppStore outside the signed-in app')
  return s
}

/** useApp subscribes to one slice of the state; the component re-renders only when it changes (Object.is). */
export function useApp<T>(selector: (s: State) => T): T {
  return useZustand(useAppStore(), selector)
}

/** useAppList is useApp for selectors that build a new array or object: compared shallowly. */
export function useAppList<T>(selector: (s: State) => T): T {
  return useZustand(useAppStore(), useShallow(selector))
}
