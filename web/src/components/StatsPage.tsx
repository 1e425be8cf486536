// Stats: own activity for everyone, per-server reports for owners and admins,
// global reports for operators. Charts are SVGs fetched with the access token
// and shown through object URLs (an <img src> cannot send the header).
import { useEffect, useState } from 'react'
import type { ActivityPoint, Metric, Report, ServerCount, UserCount, Window } from '../api/types'
import { errorText } from '../state/controller'
import { isGuild } from '../state/reducer'
import { useStore } from '../state/store'
import { ErrorLine } from './common'

type Query = Record<string, string | number | undefined>

/** ChartImage fetches a chart with the Authorization header and shows it. */
export function ChartImage({ report, query, alt }: { report: Report; query: Query; alt: string }) {
  const { api } = useStore()
  const [url, setUrl] = useState<string | null>(null)
  const [err, setErr] = useState<string | null>(null)
  const key = report + JSON.stringify(query)
  useEffect(() => {
    let live = true
    let made: string | null = null
    api.http
      .blob(`/v1/stats/charts/${report}`, query as Record<string, string>)
      .then((b) => {
        if (!live) return
        made = URL.createObjectURL(b.type ? b : new Blob([b], { type: 'image/svg+xml' }))
        setUrl(made)
        setErr(null)
      })
      .catch((e) => live && setErr(errorText(e)))
    return () => {
      live = false
      if (made) URL.revokeObjectURL(made)
    }
    // The key covers report and query.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, key])
  if (err) return <ErrorLine text={`Chart unavailable: ${err}`} />
  if (!url) return <div className="chart-placeholder muted">Loading chart…</div>
  return <img className="chart" src={url} alt={alt} data-testid="chart" />
}

function useLoad<T>(fn: () => Promise<T>, deps: unknown[]): { data?: T; err?: string } {
  const [state, setState] = useState<{ data?: T; err?: string }>({})
  useEffect(() => {
    let live = true
    fn()
      .then((data) => live && setState({ data }))
      .catch((e) => live && setState({ err: errorText(e) }))
    return () => {
      live = false
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps)
  return state
}

function UserTable({ rows, caption }: { rows?: UserCount[]; caption: string }) {
  return (
    <table className="stats-table">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">#</th>
          <th scope="col">User</th>
          <th scope="col">Count</th>
        </tr>
      </thead>
      <tbody>
        {(rows ?? []).map((r, i) => (
          <tr key={r.user_id}>
            <td>{i + 1}</td>
            <td>{r.display_name || r.user_id}</td>
            <td>{r.count ?? '0'}</td>
          </tr>
        ))}
        {rows && rows.length === 0 && (
          <tr>
            <td colSpan={3} className="muted">
              Nothing yet.
            </td>
          </tr>
        )}
      </tbody>
    </table>
  )
}

function ServerTable({ rows }: { rows?: ServerCount[] }) {
  return (
    <table className="stats-table">
      <caption>Busiest servers</caption>
      <thead>
        <tr>
          <th scope="col">#</th>
          <th scope="col">Server</th>
          <th scope="col">Messages</th>
        </tr>
      </thead>
      <tbody>
        {(rows ?? []).map((r, i) => (
          <tr key={r.server_id}>
            <td>{i + 1}</td>
            <td>{r.name || r.server_id}</td>
            <td>{r.count ?? '0'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

function ActivityTable({ points, caption }: { points?: ActivityPoint[]; caption: string }) {
  const nonzero = (points ?? []).filter((p) => Number(p.count ?? 0) > 0)
  const total = (points ?? []).reduce((n, p) => n + Number(p.count ?? 0), 0)
  return (
    <table className="stats-table">
      <caption>
        {caption} — total {total}
      </caption>
      <thead>
        <tr>
          <th scope="col">From</th>
          <th scope="col">Count</th>
        </tr>
      </thead>
      <tbody>
        {nonzero.slice(-10).map((p) => (
          <tr key={p.start_time}>
            <td>{new Date(p.start_time).toLocaleString()}</td>
            <td>{p.count}</td>
          </tr>
        ))}
        {points && nonzero.length === 0 && (
          <tr>
            <td colSpan={2} className="muted">
              No activity in this window.
            </td>
          </tr>
        )}
      </tbody>
    </table>
  )
}

const WINDOWS: [Window, string][] = [
  ['WINDOW_DAY', 'Last 24 hours'],
  ['WINDOW_WEEK', 'Last 7 days'],
  ['WINDOW_MONTH', 'Last 30 days'],
  ['WINDOW_ALL', 'All time'],
]

export function StatsPage() {
  const { state } = useStore()
  const me = state.me!
  const [window, setWindow] = useState<Window>('WINDOW_WEEK')
  const managed = state.serverOrder
    .map((id) => state.servers[id])
    .filter((s) => s && isGuild(s) && (s.my_role === 'ROLE_OWNER' || s.my_role === 'ROLE_ADMIN'))
  const [serverId, setServerId] = useState<string>('')
  const selected = serverId || managed[0]?.id || ''
  const granularity = window === 'WINDOW_DAY' ? 'GRANULARITY_HOUR' : 'GRANULARITY_DAY'
  return (
    <section className="stats" aria-label="Stats">
      <header className="chat-head">
        <h2>Stats</h2>
        <span className="spacer" />
        <label htmlFor="stats-window" className="small muted">
          Window
        </label>
        <select id="stats-window" value={window} onChange={(e) => setWindow(e.target.value as Window)}>
          {WINDOWS.map(([w, l]) => (
            <option key={w} value={w}>
              {l}
            </option>
          ))}
        </select>
      </header>
      <div className="stats-body">
        <OwnActivity userId={me.id} window={window} granularity={granularity} />
        {managed.length > 0 && (
          <section className="stats-section" aria-labelledby="stats-server">
            <div className="stats-section-head">
              <h3 id="stats-server">Server</h3>
              <label htmlFor="stats-server-select" className="visually-hidden">
                Server
              </label>
              <select id="stats-server-select" value={selected} onChange={(e) => setServerId(e.target.value)}>
                {managed.map((s) => (
                  <option key={s.id} value={s.id}>
                    {s.name}
                  </option>
                ))}
              </select>
            </div>
            {selected && <ServerStats serverId={selected} window={window} granularity={granularity} />}
          </section>
        )}
        {me.operator && <GlobalStats window={window} granularity={granularity} />}
      </div>
    </section>
  )
}

function OwnActivity({ userId, window, granularity }: { userId: string; window: Window; granularity: string }) {
  const { api } = useStore()
  const metric: Metric = 'METRIC_MESSAGES'
  const act = useLoad(() => api.activity(metric, window, { user_id: userId, granularity }), [api, userId, window, granularity])
  return (
    <section className="stats-section" aria-labelledby="stats-own">
      <h3 id="stats-own">Your activity</h3>
      <div className="stats-grid">
        <ChartImage report="REPORT_ACTIVITY" query={{ metric, window, granularity, user_id: userId }} alt="Messages you sent over time" />
        {act.err ? <ErrorLine text={act.err} /> : <ActivityTable points={act.data} caption="Messages you sent" />}
      </div>
    </section>
  )
}

function ServerStats({ serverId, window, granularity }: { serverId: string; window: Window; granularity: string }) {
  const { api } = useStore()
  const top = useLoad(() => api.topUsers('METRIC_MESSAGES', window, serverId), [api, serverId, window])
  const act = useLoad(() => api.activity('METRIC_MESSAGES', window, { server_id: serverId, granularity }), [api, serverId, window, granularity])
  return (
    <>
      <div className="stats-grid">
        <ChartImage report="REPORT_TOP_USERS" query={{ metric: 'METRIC_MESSAGES', window, server_id: serverId }} alt="Top posters in this server" />
        {top.err ? <ErrorLine text={top.err} /> : <UserTable rows={top.data} caption="Top posters" />}
      </div>
      <div className="stats-grid">
        <ChartImage report="REPORT_ACTIVITY" query={{ metric: 'METRIC_MESSAGES', window, granularity, server_id: serverId }} alt="Messages in this server over time" />
        {act.err ? <ErrorLine text={act.err} /> : <ActivityTable points={act.data} caption="Messages" />}
      </div>
    </>
  )
}

function GlobalStats({ window, granularity }: { window: Window; granularity: string }) {
  const { api } = useStore()
  const senders = useLoad(() => api.topUsers('METRIC_MESSAGES', window), [api, window])
  const connectors = useLoad(() => api.topUsers('METRIC_CONNECTIONS', window), [api, window])
  const servers = useLoad(() => api.topServers(window), [api, window])
  return (
    <section className="stats-section" aria-labelledby="stats-global">
      <h3 id="stats-global">Everyone (operators)</h3>
      <div className="stats-grid">
        <ChartImage report="REPORT_TOP_USERS" query={{ metric: 'METRIC_MESSAGES', window }} alt="Users who send the most messages" />
        {senders.err ? <ErrorLine text={senders.err} /> : <UserTable rows={senders.data} caption="Most messages sent" />}
      </div>
      <div className="stats-grid">
        <ChartImage report="REPORT_TOP_USERS" query={{ metric: 'METRIC_CONNECTIONS', window }} alt="Users who connect the most" />
        {connectors.err ? <ErrorLine text={connectors.err} /> : <UserTable rows={connectors.data} caption="Most connections" />}
      </div>
      <div className="stats-grid">
        <ChartImage report="REPORT_TOP_SERVERS" query={{ window }} alt="Busiest servers" />
        {servers.err ? <ErrorLine text={servers.err} /> : <ServerTable rows={servers.data} />}
      </div>
      <div className="stats-grid">
        <ChartImage report="REPORT_ACTIVITY" query={{ metric: 'METRIC_MESSAGES', window, granularity }} alt="Messages over time" />
      </div>
    </section>
  )
}
