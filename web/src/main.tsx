import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { Accord } from './api/accord'
import { ApiClient } from './api/client'
import { App } from './App'
import './styles.css'

const http = new ApiClient({ storage: window.localStorage })
const api = new Accord(http)

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App api={api} />
  </StrictMode>,
)
