// A channel name field that turns what is typed into an accepted name as you type.
import { channelSlug, CHANNEL_NAME_MAX } from '../lib/format'

export function ChannelNameInput({
  id,
  value,
  onChange,
  invalid,
  placeholder = 'new-channel',
  autoFocus,
}: {
  id: string
  value: string
  onChange: (v: string) => void
  invalid?: boolean
  placeholder?: string
  autoFocus?: boolean
}) {
  return (
    <div className="prefixed-input">
      <span className="hash" aria-hidden="true">
        #
      </span>
      <input
        id={id}
        value={value}
        placeholder={placeholder}
        maxLength={CHANNEL_NAME_MAX + 1}
        autoFocus={autoFocus}
        autoComplete="off"
        spellCheck={false}
        aria-invalid={invalid || undefined}
        aria-describedby={id + '-hint'}
        onChange={(e) => onChange(channelSlug(e.target.value))}
      />
      <span id={id + '-hint'} className="visually-hidden">
        Lower-case letters, digits and dashes; spaces become dashes.
      </span>
    </div>
  )
}
