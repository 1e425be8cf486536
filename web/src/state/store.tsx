// React glue: the state, the controller and the session, shared by context.
import { createContext, useContext } from 'react'
import type { Accord } from '../api/accord'
import type { Controller } from './controller'
import type { State } from './reducer'

export interface Store {
  state: State
  ctl: Controller
  api: Accord
  signOut: () => void
}

export const StoreContext = createContext<Store | null>(null)

/** useStore returns the signed-in app's store. */
export function useStore(): Store {
  const s = useContext(StoreContext)
  if (!s) throw new Error('useStore outside the signed-in app')
  return s
}
