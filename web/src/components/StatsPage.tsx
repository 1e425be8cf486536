// Stats: own activity for everyone, per-server reports for owners and admins,
// global reports for operators. Charts are drawn here from the report data, so
// they follow the theme; the tables give the exact numbers.
import { useState } from 'react'
import { useQuery } from '@tanstack/react-query'
import type { ActivityPoint, Metric, ServerCount, UserCount, Window } from '../api/types'
import { bucketLabel, humanError } from '../lib/format'
import { formatBytes } from '../lib/uploads'
import { isGuild } from '../state/reducer'
import { useApp, useAppList, useStore } from '../state/store'
import { ActivityChart, RankingChart } from './Charts'
import { ErrorLine, NavToggle } from './common'

type Granularity = 'hour' | 'day'

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

/** ServerTable ranks servers by messages, or by bytes stored (shown as 1.5 MB) when a total in bytes is given. */
export function ServerTable({ rows, bytesTotal }: { rows?: ServerCount[]; bytesTotal?: number }) {
  const bytes = bytesTotal !== undefined
  return (
    <table className="stats-table">
      <caption>{bytes ? `Servers storing the most files — total ${formatBytes(bytesTotal)}` : 'Busiest servers'}</caption>
      <thead>
        <tr>
          <th scope="col">#</th>
          <th scope="col">Server</th>
          <th scope="col">{bytes ? 'Stored' : 'Messages'}</th>
        </tr>
      </thead>
      <tbody>
        {(rows ?? []).map((r, i) => (
          <tr key={r.server_id}>
            <td>{i + 1}</td>
            <td>{r.name || r.server_id}</td>
            <td>{bytes ? formatBytes(Number(r.count ?? 0)) : (r.count ?? '0')}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

/** ActivityTable lists the busiest recent buckets; the total shows only once the numbers are in. */
export function ActivityTable({ points, caption, granularity }: { points?: ActivityPoint[]; caption: string; granularity: Granularity }) {
  const nonzero = (points ?? []).filter((p) => Number(p.count ?? 0) > 0)
  const total = (points ?? []).reduce((n, p) => n + Number(p.count ?? 0), 0)
  return (
    <table className="stats-table">
      <caption>
        {caption}
        {points ? ` — total ${total}` : ''}
      </caption>
      <thead>
        <tr>
          <th scope="col">{granularity === 'day' ? 'Day' : 'Hour from'}</th>
          <th scope="col">Count</th>
        </tr>
      </thead>
      <tbody>
        {!points && (
          <tr>
            <td colSpan={2} className="muted">
              Loading…
            </td>
          </tr>
        )}
        {nonzero.slice(-10).map((p) => (
          <tr key={p.start_time}>
            <td>{bucketLabel(p.start_time, granularity)}</td>
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
  const me = useApp((s) => s.me!)
  const [window, setWindow] = useState<Window>('WINDOW_WEEK')
  const managed = useAppList((st) =>
    st.serverOrder.map((id) => st.servers[id]).filter((s) => s && isGuild(s) && (s.my_role === 'ROLE_OWNER' || s.my_role === 'ROLE_ADMIN')),
  )
  const [serverId, setServerId] = useState<string>('')
  const selected = serverId || managed[0]?.id || ''
  const granularity: Granularity = window === 'WINDOW_DAY' ? 'hour' : 'day'
  return (
    <section className="stats" aria-label="Stats">
      <header className="chat-head">
        <NavToggle />
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

const apiGranularity = (g: Granularity) => (g === 'hour' ? 'GRANULARITY_HOUR' : 'GRANULARITY_DAY')

function useActivity(metric: Metric, window: Window, granularity: Granularity, scope: { server_id?: string; user_id?: string }) {
  const { api } = useStore()
  return useQuery({
    queryKey: ['stats', 'activity', metric, window, granularity, scope],
    queryFn: () => api.activity(metric, window, { ...scope, granularity: apiGranularity(granularity) }),
  })
}

function useTopUsers(metric: Metric, window: Window, serverId?: string) {
  const { api } = useStore()
  return useQuery({ queryKey: ['stats', 'topUsers', metric, window, serverId ?? ''], queryFn: () => api.topUsers(metric, window, serverId) })
}

const userRows = (rows?: UserCount[]) => (rows ?? []).map((r) => ({ key: r.user_id, name: r.display_name || r.user_id, count: Number(r.count ?? 0) }))

function Activity({ caption, chartLabel, q, granularity }: { caption: string; chartLabel: string; q: ReturnType<typeof useActivity>; granularity: Granularity }) {
  if (q.error) return <ErrorLine text={humanError(q.error)} />
  return (
    <div className="stats-grid">
      {q.data ? <ActivityChart points={q.data} granularity={granularity} label={chartLabel} /> : <div className="chart-placeholder muted">Loading chart…</div>}
      <ActivityTable points={q.data} caption={caption} granularity={granularity} />
    </div>
  )
}

function Ranking({ caption, q, children }: { caption: string; q: ReturnType<typeof useTopUsers>; children: React.ReactNode }) {
  if (q.error) return <ErrorLine text={humanError(q.error)} />
  return (
    <div className="stats-grid">
      {q.data ? <RankingChart rows={userRows(q.data)} label={caption} /> : <div className="chart-placeholder muted">Loading chart…</div>}
      {children}
    </div>
  )
}

function OwnActivity({ userId, window, granularity }: { userId: string; window: Window; granularity: Granularity }) {
  const act = useActivity('METRIC_MESSAGES', window, granularity, { user_id: userId })
  return (
    <section className="stats-section" aria-labelledby="stats-own">
      <h3 id="stats-own">Your activity</h3>
      <Activity q={act} caption="Messages you sent" chartLabel="Messages you sent over time" granularity={granularity} />
    </section>
  )
}

function ServerStats({ serverId, window, granularity }: { serverId: string; window: Window; granularity: Granularity }) {
  const top = useTopUsers('METRIC_MESSAGES', window, serverId)
  const act = useActivity('METRIC_MESSAGES', window, granularity, { server_id: serverId })
  return (
    <>
      <Ranking q={top} caption="Top posters in this server">
        <UserTable rows={top.data} caption="Top posters" />
      </Ranking>
      <Activity q={act} caption="Messages" chartLabel="Messages in this server over time" granularity={granularity} />
    </>
  )
}

function GlobalStats({ window, granularity }: { window: Window; granularity: Granularity }) {
  const { api } = useStore()
  const senders = useTopUsers('METRIC_MESSAGES', window)
  const connectors = useTopUsers('METRIC_CONNECTIONS', window)
  const servers = useQuery({ queryKey: ['stats', 'topServers', window], queryFn: () => api.topServers(window) })
  const stored = useQuery({ queryKey: ['stats', 'storedBytes'], queryFn: () => api.storedBytes() })
  const act = useActivity('METRIC_MESSAGES', window, granularity, {})
  return (
    <section className="stats-section" aria-labelledby="stats-global">
      <h3 id="stats-global">Everyone (operators)</h3>
      <Ranking q={senders} caption="Users who send the most messages">
        <UserTable rows={senders.data} caption="Most messages sent" />
      </Ranking>
      <Ranking q={connectors} caption="Users who connect the most">
        <UserTable rows={connectors.data} caption="Most connections" />
      </Ranking>
      {servers.error ? (
        <ErrorLine text={humanError(servers.error)} />
      ) : (
        <div className="stats-grid">
          {servers.data ? (
            <RankingChart rows={(servers.data ?? []).map((r) => ({ key: r.server_id, name: r.name || r.server_id, count: Number(r.count ?? 0) }))} label="Busiest servers" />
          ) : (
            <div className="chart-placeholder muted">Loading chart…</div>
          )}
          <ServerTable rows={servers.data} />
        </div>
      )}
      {stored.error ? <ErrorLine text={humanError(stored.error)} /> : stored.data && <ServerTable rows={stored.data.rows} bytesTotal={stored.data.total} />}
      <Activity q={act} caption="Messages" chartLabel="Messages over time" granularity={granularity} />
    </section>
  )
}
