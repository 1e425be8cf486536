// MessageBody renders a message's content as Discord users write it:
// Markdown (react-markdown, remark-gfm, remark-breaks) plus Discord's
// underline, spoilers and mentions (lib/discordMarkdown). Raw HTML is never
// rendered (react-markdown shows it as the text typed; there is no
// rehype-raw), links go only to http, https and mailto and open in a new
// tab without an opener or referrer; anything else shows as typed.
import { memo, useEffect, useMemo, useState, type KeyboardEvent, type ReactNode } from 'react'
import Markdown, { type Components, type ExtraProps } from 'react-markdown'
import remarkBreaks from 'remark-breaks'
import remarkGfm from 'remark-gfm'
import { remarkDiscord, safeUrl, type MentionKind } from '../lib/discordMarkdown'
import { navigate } from '../lib/route'
import { isGuild, type State } from '../state/reducer'
import { useApp, useStore } from '../state/store'
import './format.css'

type Node = ExtraProps['node']

/** sourceOf is the text a node was parsed from, as typed. */
function sourceOf(content: string, node: Node): string {
  const s = node?.position?.start.offset
  const e = node?.position?.end.offset
  return s !== undefined && e !== undefined ? content.slice(s, e) : ''
}

/** userLabel is a user's current display name as far as the app knows it, or ''. */
export function userLabel(s: State, userId: string, serverId?: string): string {
  const u = s.users[userId]
  if (u?.display_name || u?.login) return u.display_name || u.login || ''
  const inServer = serverId ? s.members[serverId]?.[userId] : undefined
  if (inServer) return inServer.display_name || inServer.login || ''
  for (const members of Object.values(s.members)) {
    const m = members[userId]
    if (m?.display_name || m?.login) return m.display_name || m.login || ''
  }
  return ''
}

function UserMention({ id, serverId }: { id: string; serverId?: string }) {
  const { ctl } = useStore()
  const name = useApp((s) => userLabel(s, id, serverId))
  useEffect(() => {
    if (!name) void ctl.loadUsers([id])
  }, [ctl, id, name])
  return (
    <span className="mention" data-testid="mention" data-kind="user" data-user-id={id}>
      @{name || 'unknown-user'}
    </span>
  )
}

function ChannelMention({ id, interactive }: { id: string; interactive: boolean }) {
  const channel = useApp((s) => s.channels[id])
  const server = useApp((s) => (channel ? s.servers[channel.server_id] : undefined))
  if (!channel) {
    return (
      <span className="mention" data-testid="mention" data-kind="channel">
        #unknown-channel
      </span>
    )
  }
  if (!interactive) {
    return (
      <span className="mention" data-testid="mention" data-kind="channel">
        #{channel.name}
      </span>
    )
  }
  return (
    <button
      type="button"
      className="mention"
      data-testid="mention"
      data-kind="channel"
      onClick={() =>
        navigate(server && !isGuild(server) ? { name: 'dm', serverId: channel.server_id } : { name: 'server', serverId: channel.server_id, channelId: id })
      }
    >
      #{channel.name}
    </button>
  )
}

function Mention({ kind, id, serverId, interactive }: { kind: MentionKind; id: string; serverId?: string; interactive: boolean }) {
  if (kind === 'user') return <UserMention id={id} serverId={serverId} />
  if (kind === 'channel') return <ChannelMention id={id} interactive={interactive} />
  return (
    <span className="mention" data-testid="mention" data-kind={kind}>
      @{kind}
    </span>
  )
}

/** Spoiler hides its content until clicked (or Enter/Space on it); a preview keeps it hidden. */
function Spoiler({ children, interactive }: { children: ReactNode; interactive: boolean }) {
  const [shown, setShown] = useState(false)
  if (shown) {
    return (
      <span className="spoiler revealed" data-testid="spoiler">
        {children}
      </span>
    )
  }
  if (!interactive) {
    return (
      <span className="spoiler" data-testid="spoiler" aria-label="Spoiler">
        <span aria-hidden="true">{children}</span>
      </span>
    )
  }
  const reveal = (e: { stopPropagation: () => void }) => {
    e.stopPropagation()
    setShown(true)
  }
  return (
    <span
      className="spoiler"
      role="button"
      tabIndex={0}
      aria-label="Spoiler, press to reveal"
      data-testid="spoiler"
      onClick={reveal}
      onKeyDown={(e: KeyboardEvent) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault()
          reveal(e)
        }
      }}
    >
      <span aria-hidden="true">{children}</span>
    </span>
  )
}

const remarkPlugins = [remarkGfm, remarkBreaks, remarkDiscord]

/** PLAIN matches one line that no Markdown, link or mention syntax can change. */
const PLAIN = /^[\p{L}\p{N}\p{Zs}\p{Pd},.'"?!()%$;/=+]*$/u

/**
 * isPlain tells text that renders as itself, so most messages skip the Markdown parser (the
 * virtualized list mounts rows as it scrolls): no syntax characters, no "www." link, no list
 * marker, number or indent at the start.
 */
export function isPlain(text: string): boolean {
  return PLAIN.test(text) && !/www\./i.test(text) && !/^\s|^\d+[.)]|^[-+]/.test(text)
}
const inlineElements = ['span', 'u', 'strong', 'em', 'del', 'code']

/**
 * MessageBody is a message's content, formatted. inline renders a one-line
 * preview (a reply's quote): formatting and mentions, but no blocks, links
 * or revealable spoilers.
 */
export const MessageBody = memo(function MessageBody({ content, serverId, inline = false }: { content: string; serverId?: string; inline?: boolean }) {
  const text = inline ? content.replace(/\s*\n\s*/g, ' ') : content
  const components = useMemo<Components>(
    () => ({
      a: ({ node, href, children }) => {
        const url = href ? safeUrl(href) : ''
        if (!url) return <>{sourceOf(text, node) || children}</>
        return (
          <a href={url} target="_blank" rel="noopener noreferrer">
            {children}
          </a>
        )
      },
      // Images are not loaded from a message (no tracking pixels): a link to them instead, as typed when unsafe.
      img: ({ node, src, alt }) => {
        const url = typeof src === 'string' ? safeUrl(src) : ''
        if (!url) return <>{sourceOf(text, node)}</>
        return (
          <a href={url} target="_blank" rel="noopener noreferrer">
            {alt || url}
          </a>
        )
      },
      // Headings stay inside the message's flow (and out of the page's outline).
      h1: ({ children }) => <p className="md-heading md-h1">{children}</p>,
      h2: ({ children }) => <p className="md-heading md-h2">{children}</p>,
      h3: ({ children }) => <p className="md-heading md-h3">{children}</p>,
      h4: ({ children }) => <p className="md-heading md-h4">{children}</p>,
      h5: ({ children }) => <p className="md-heading md-h4">{children}</p>,
      h6: ({ children }) => <p className="md-heading md-h4">{children}</p>,
      pre: ({ children }) => <pre className="md-code-block">{children}</pre>,
      span: ({ node, children }) => {
        const props = node?.properties ?? {}
        const cls = ([] as unknown[]).concat(props.className ?? [])
        if (cls.includes('spoiler')) return <Spoiler interactive={!inline}>{children}</Spoiler>
        if (cls.includes('mention-token')) {
          return <Mention kind={String(props.dataKind) as MentionKind} id={String(props.dataId ?? '')} serverId={serverId} interactive={!inline} />
        }
        return <span>{children}</span>
      },
    }),
    [text, serverId, inline],
  )
  const Wrap = inline ? 'span' : 'div'
  if (isPlain(text)) return <Wrap className={inline ? 'md md-inline' : 'md'}>{inline ? text : <p>{text}</p>}</Wrap>
  return (
    <Wrap className={inline ? 'md md-inline' : 'md'}>
      <Markdown
        remarkPlugins={remarkPlugins}
        urlTransform={(url) => safeUrl(url)}
        components={components}
        allowedElements={inline ? inlineElements : undefined}
        unwrapDisallowed={inline}
      >
        {text}
      </Markdown>
    </Wrap>
  )
})
