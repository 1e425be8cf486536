// "+" next to TEXT CHANNELS: create a channel, its name turned into a slug as you type.
import { useState, type FormEvent } from 'react'
import { humanError } from '../lib/format'
import { navigate } from '../lib/route'
import { useStore } from '../state/store'
import { ChannelNameInput } from './ChannelNameInput'
import { ErrorLine, Modal } from './common'

export function CreateChannelDialog({ serverId, onClose }: { serverId: string; onClose: () => void }) {
  const { api, ctl } = useStore()
  const [name, setName] = useState('')
  const [err, setErr] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  async function submit(e: FormEvent) {
    e.preventDefault()
    const n = name.replace(/-+$/, '')
    if (!n) return setErr('Give the channel a name.')
    setErr(null)
    setBusy(true)
    try {
      const channel = await api.createChannel(serverId, n)
      ctl.apply({ type: 'channelUpserted', channel })
      onClose()
      navigate({ name: 'server', serverId, channelId: channel.id })
    } catch (e) {
      setErr(humanError(e, { name: 'Channel name' }))
      setBusy(false)
    }
  }
  return (
    <Modal title="Create channel" onClose={onClose}>
      <form className="stack" onSubmit={submit}>
        <div className="field">
          <label htmlFor="create-channel-name">Channel name</label>
          <ChannelNameInput id="create-channel-name" value={name} onChange={setName} invalid={!!err} />
        </div>
        <ErrorLine text={err} />
        <div className="dialog-actions">
          <button type="button" className="secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy || !name}>
            Create channel
          </button>
        </div>
      </form>
    </Modal>
  )
}
