// The emoji picker of reactions: emoji-picker-react (search, frequently used,
// skin tones), drawn with the system's own emoji so that nothing is fetched
// from elsewhere, loaded only when first opened.
import { lazy, Suspense, useEffect, useRef } from 'react'

const Picker = lazy(() => import('emoji-picker-react'))

/** EmojiPicker shows the picker in a popover; `onPick` gets the native emoji (with its skin tone). */
export function EmojiPicker({ onPick, onClose }: { onPick: (emoji: string) => void; onClose: () => void }) {
  const ref = useRef<HTMLDivElement>(null)
  useEffect(() => {
    const onDown = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) onClose()
    }
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') onClose()
    }
    document.addEventListener('mousedown', onDown)
    document.addEventListener('keydown', onKey)
    return () => {
      document.removeEventListener('mousedown', onDown)
      document.removeEventListener('keydown', onKey)
    }
  }, [onClose])
  return (
    <div className="emoji-popover" ref={ref} role="dialog" aria-label="Pick a reaction">
      <Suspense fallback={<div className="muted emoji-loading">Loading emoji…</div>}>
        <Picker
          // "native": the system's emoji, no images fetched from a CDN.
          emojiStyle="native"
          lazyLoadEmojis
          width={320}
          height={380}
          previewConfig={{ showPreview: false }}
          onEmojiClick={(d: { emoji: string }) => {
            onPick(d.emoji)
            onClose()
          }}
        />
      </Suspense>
    </div>
  )
}
