import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { Accord } from './api/accord'
import { ApiClient } from './api/client'
import { indexedDBSessionStore } from './api/sharedSession'
import { App } from './App'
import './styles.css'
import { watchTheme } from './lib/theme'

// Before the first render, so the page never flashes the other palette.
watchTheme()

const http = new ApiClient({ storage: window.localStorage, shared: indexedDBSessionStore() })
const api = new Accord(http)

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App api={api} />
  </StrictMode>,
)
