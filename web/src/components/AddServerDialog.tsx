// "+" on the rail: create a server or join one with an invite code.
import { useState, type FormEvent } from 'react'
import { ApiError } from '../api/client'
import { errorText } from '../state/controller'
import { useStore } from '../state/store'
import { ErrorLine, Modal } from './common'

/** inviteCode accepts a bare code or a pasted invite link. */
export function inviteCode(input: string): string {
  const t = input.trim()
  const m = t.match(/([A-Za-z0-9]{8,32})\/?$/)
  return m ? m[1] : t
}

export function AddServerDialog({ onClose, onDone }: { onClose: () => void; onDone: (serverId: string) => void }) {
  const { ctl } = useStore()
  const [name, setName] = useState('')
  const [code, setCode] = useState('')
  const [createErr, setCreateErr] = useState<string | null>(null)
  const [joinErr, setJoinErr] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  async function create(e: FormEvent) {
    e.preventDefault()
    setCreateErr(null)
    if (!name.trim()) return setCreateErr('Give your server a name.')
    setBusy(true)
    try {
      onDone(await ctl.createServer(name.trim()))
    } catch (err) {
      setCreateErr(errorText(err))
      setBusy(false)
    }
  }
  async function join(e: FormEvent) {
    e.preventDefault()
    setJoinErr(null)
    const c = inviteCode(code)
    if (!/^[A-Za-z0-9]{8,32}$/.test(c)) return setJoinErr('That does not look like an invite code.')
    setBusy(true)
    try {
      onDone(await ctl.joinInvite(c))
    } catch (err) {
      setJoinErr(err instanceof ApiError && err.code === 'NOT_FOUND' ? 'This invite is invalid or has expired.' : errorText(err))
      setBusy(false)
    }
  }
  return (
    <Modal title="Add a server" onClose={onClose}>
      <form onSubmit={create} className="stack">
        <h3>Create a server</h3>
        <div className="field">
          <label htmlFor="new-server-name">Server name</label>
          <input id="new-server-name" value={name} maxLength={100} onChange={(e) => setName(e.target.value)} />
        </div>
        <ErrorLine text={createErr} />
        <button type="submit" className="primary" disabled={busy}>
          Create
        </button>
      </form>
      <hr />
      <form onSubmit={join} className="stack">
        <h3>Join with an invite</h3>
        <div className="field">
          <label htmlFor="invite-code">Invite code</label>
          <input id="invite-code" value={code} placeholder="e.g. hTKzmak2" onChange={(e) => {
              setCode(e.target.value)
              setJoinErr(null)
            }}
          />
        </div>
        <ErrorLine text={joinErr} />
        <button type="submit" className="secondary" disabled={busy}>
          Join server
        </button>
      </form>
    </Modal>
  )
}
