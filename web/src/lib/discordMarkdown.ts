// Discord's flavour of Markdown on top of remark (CommonMark + GFM): what
// Discord users type and what plain Markdown reads differently.
//   __x__        underline (Markdown would make it bold)
//   ||x||        spoiler, hidden until clicked
//   <@user_id>   a user mention, <#channel_id> a channel mention,
//   @everyone, @here
// Footnotes (a GFM extension Discord does not have) stay as typed.
// Nothing here turns text into HTML: the nodes become <u> or <span> with
// fixed classes, and the component renders the spans.
import { findAndReplace } from 'mdast-util-find-and-replace'
import type { Nodes, Parent, PhrasingContent, Root, Text } from 'mdast'
import { visit, SKIP } from 'unist-util-visit'

/** MentionKind is what a mention names. */
export type MentionKind = 'user' | 'channel' | 'everyone' | 'here'

/** SAFE_PROTOCOLS are the only link targets rendered as links. */
const SAFE_PROTOCOLS = new Set(['http:', 'https:', 'mailto:'])

/** safeUrl returns the URL when it is absolute with an allowed protocol, and '' otherwise (relative, javascript:, data:, ...). */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url)
    return SAFE_PROTOCOLS.has(u.protocol) ? url : ''
  } catch {
    return ''
  }
}

const ID = '[0-9a-f]{24}'
const MENTION = new RegExp(`<@!?(${ID})>|<#(${ID})>|(?<![\\w@.])@(everyone|here)\\b`, 'g')

function mentionNode(kind: MentionKind, id: string, raw: string): PhrasingContent {
  return {
    type: 'mention',
    data: {
      hName: 'span',
      hProperties: { className: ['mention-token'], dataKind: kind, dataId: id },
      hChildren: [{ type: 'text', value: raw }],
    },
  } as unknown as PhrasingContent
}

/** spoilers wraps what lies between pairs of "||" in one parent's phrasing children into spoiler nodes. */
function spoilers(parent: Parent): void {
  const kids = parent.children as PhrasingContent[]
  if (!kids.some((k) => k.type === 'text' && k.value.includes('||'))) return
  // Split text at each "||", marking the markers.
  type Part = PhrasingContent | { marker: true }
  const parts: Part[] = []
  for (const k of kids) {
    if (k.type !== 'text' || !k.value.includes('||')) {
      parts.push(k)
      continue
    }
    const pieces = k.value.split('||')
    pieces.forEach((p, i) => {
      if (i > 0) parts.push({ marker: true })
      if (p) parts.push({ type: 'text', value: p } as Text)
    })
  }
  const out: PhrasingContent[] = []
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]
    if (!('marker' in p)) {
      out.push(p)
      continue
    }
    const close = parts.findIndex((q, j) => j > i && 'marker' in q)
    const inner = parts.slice(i + 1, close) as PhrasingContent[]
    if (close < 0 || inner.length === 0) {
      // Unpaired (or empty, "||||"): the text as typed.
      out.push({ type: 'text', value: '||' })
      continue
    }
    out.push({
      type: 'spoiler',
      children: inner,
      data: { hName: 'span', hProperties: { className: ['spoiler'] } },
    } as unknown as PhrasingContent)
    i = close
  }
  // Merge adjacent text nodes back, so other passes see whole words.
  const merged: PhrasingContent[] = []
  for (const n of out) {
    const last = merged[merged.length - 1]
    if (n.type === 'text' && last?.type === 'text') merged[merged.length - 1] = { type: 'text', value: last.value + n.value }
    else merged.push(n)
  }
  parent.children = merged
}

/** remarkDiscord is the remark plugin for Discord's extras (see the top of the file). */
export function remarkDiscord() {
  return (tree: Root, file: { value?: unknown }) => {
    const source = String(file.value ?? '')
    visit(tree, (node: Nodes, index, parent) => {
      // "__x__" is underline in Discord; Markdown parses it as strong.
      if (node.type === 'strong') {
        const at = node.position?.start.offset
        if (at !== undefined && source.startsWith('__', at)) node.data = { ...node.data, hName: 'u' }
      }
      // Footnotes are not Discord's: keep what was typed.
      if ((node.type === 'footnoteReference' || node.type === 'footnoteDefinition') && parent && index !== undefined) {
        const s = node.position?.start.offset
        const e = node.position?.end.offset
        const raw = s !== undefined && e !== undefined ? source.slice(s, e) : ''
        const text: Text = { type: 'text', value: raw }
        parent.children[index] = (node.type === 'footnoteDefinition' ? { type: 'paragraph', children: [text] } : text) as never
        return SKIP
      }
      if ('children' in node) spoilers(node as Parent)
    })
    findAndReplace(tree, [
      MENTION,
      (raw: string, user?: string, channel?: string, everyone?: string) => {
        if (user) return mentionNode('user', user, raw)
        if (channel) return mentionNode('channel', channel, raw)
        return mentionNode(everyone as MentionKind, '', raw)
      },
    ], { ignore: ['link', 'linkReference'] })
  }
}
