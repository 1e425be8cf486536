// @vitest-environment jsdom
// The message renderer: Discord's formatting, mentions with current names,
// and the usual XSS payloads shown inert, as typed.
import { cleanup, fireEvent, screen, waitFor } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import { reducer, type State } from '../state/reducer'
import { renderWithStore } from '../test/harness'
import { isPlain, MessageBody } from './MessageBody'

afterEach(cleanup)

const alice = 'a1a1a1a1a1a1a1a1a1a1a1a1'
const bob = 'b2b2b2b2b2b2b2b2b2b2b2b2'
const stranger = 'cccccccccccccccccccccccc'
const general = 'dddddddddddddddddddddddd'
const srv = 'eeeeeeeeeeeeeeeeeeeeeeee'

const world = (s: State) => {
  s = reducer(s, { type: 'serversLoaded', servers: [{ id: srv, name: 'Fans', kind: 'SERVER_KIND_GUILD', my_role: 'ROLE_MEMBER' }] })
  s = reducer(s, { type: 'channelsLoaded', serverId: srv, channels: [{ id: general, server_id: srv, name: 'general' }] })
  s = reducer(s, { type: 'usersLoaded', users: [{ id: alice, login: 'alice', display_name: 'Alice Liddell' }] })
  return reducer(s, { type: 'membersLoaded', serverId: srv, members: [{ server_id: srv, user_id: bob, login: 'bob', display_name: 'Bobby' }] })
}

function body(content: string, inline = false) {
  const h = renderWithStore(<MessageBody content={content} serverId={srv} inline={inline} />, { state: world })
  return { ...h, root: h.container.firstElementChild as HTMLElement }
}

describe('formatting', () => {
  it.each([
    ['**bold**', 'strong', 'bold'],
    ['*italic*', 'em', 'italic'],
    ['_italic_', 'em', 'italic'],
    ['__underline__', 'u', 'underline'],
    ['~~gone~~', 'del', 'gone'],
    ['`a <b> c`', 'code', 'a <b> c'],
    ['***both***', 'em strong', 'both'],
    ['> quoted', 'blockquote', 'quoted'],
    ['- one\n- two', 'ul li', 'one'],
    ['1. one\n2. two', 'ol li', 'one'],
  ])('%s', (src, selector, text) => {
    const { root } = body(src)
    const el = root.querySelector(selector)
    expect(el, root.innerHTML).not.toBeNull()
    expect(el!.textContent?.trim()).toBe(text)
  })

  it('underline is not bold', () => {
    const { root } = body('__x__ and **y**')
    expect(root.querySelector('u')?.textContent).toBe('x')
    expect(root.querySelectorAll('strong')).toHaveLength(1)
  })

  it('fenced code keeps its language and its text as typed', () => {
    const { root } = body('```js\nconst a = "<b>";\n**not bold** ||no spoiler|| <@' + alice + '>\n```')
    const code = root.querySelector('pre code')!
    expect(code.className).toContain('language-js')
    expect(code.textContent).toBe('const a = "<b>";\n**not bold** ||no spoiler|| <@' + alice + '>\n')
    expect(root.querySelector('strong, .spoiler, .mention')).toBeNull()
  })

  it('single newlines are line breaks, as in Discord', () => {
    const { root } = body('one\ntwo')
    expect(root.querySelector('br')).not.toBeNull()
  })

  it('headings stay small paragraphs, out of the page outline', () => {
    const { root } = body('# Big\n## Less\n### Small')
    expect(root.querySelector('h1, h2, h3')).toBeNull()
    expect(root.querySelector('.md-h1')?.textContent).toBe('Big')
    expect(root.querySelector('.md-h3')?.textContent).toBe('Small')
  })

  it('a spoiler hides its text until clicked, and opens with the keyboard too', () => {
    const { root } = body('the end: ||he **was** dead|| all along ||and more||')
    const [first, second] = screen.getAllByTestId('spoiler')
    expect(first.getAttribute('role')).toBe('button')
    expect(first.tabIndex).toBe(0)
    expect(first.textContent).toBe('he was dead')
    expect(first.querySelector('strong')?.textContent).toBe('was')
    expect(first.className).not.toContain('revealed')
    fireEvent.click(first)
    expect(screen.getAllByTestId('spoiler')[0].className).toContain('revealed')
    fireEvent.keyDown(second, { key: 'Enter' })
    expect(screen.getAllByTestId('spoiler')[1].className).toContain('revealed')
    expect(root.textContent).toBe('the end: he was dead all along and more')
  })

  it('an unpaired || stays as typed', () => {
    const { root } = body('a || b')
    expect(root.querySelector('.spoiler')).toBeNull()
    expect(root.textContent).toBe('a || b')
  })
})

describe('links', () => {
  it.each([
    ['[docs](https://example.com/x)', 'https://example.com/x', 'docs'],
    ['see https://example.com/y now', 'https://example.com/y', 'https://example.com/y'],
    ['<https://example.com/z>', 'https://example.com/z', 'https://example.com/z'],
    ['[mail](mailto:a@example.com)', 'mailto:a@example.com', 'mail'],
  ])('%s opens in a new tab without opener or referrer', (src, href, text) => {
    const { root } = body(src)
    const a = root.querySelector('a')!
    expect(a.getAttribute('href')).toBe(href)
    expect(a.textContent).toBe(text)
    expect(a.getAttribute('target')).toBe('_blank')
    expect(a.getAttribute('rel')).toBe('noopener noreferrer')
  })
})

describe('mentions', () => {
  it('a user mention shows the current display name, from users or members', () => {
    const h = body(`hi <@${alice}> and <@${bob}>`)
    const pills = screen.getAllByTestId('mention')
    expect(pills.map((p) => p.textContent)).toEqual(['@Alice Liddell', '@Bobby'])
    h.dispatch({ type: 'usersLoaded', users: [{ id: alice, login: 'alice', display_name: 'Alice L.' }] })
    expect(screen.getAllByTestId('mention')[0].textContent).toBe('@Alice L.')
  })

  it('an unknown user is @unknown-user (and is looked up)', async () => {
    const h = body(`who is <@${stranger}>?`)
    expect(screen.getByTestId('mention').textContent).toBe('@unknown-user')
    await waitFor(() => expect(h.requests.some((r) => r.path.startsWith('/v1/users'))).toBe(true))
  })

  it('a channel mention is a pill that opens the channel', () => {
    body(`go to <#${general}>`)
    const pill = screen.getByTestId('mention')
    expect(pill.textContent).toBe('#general')
    fireEvent.click(pill)
    expect(window.location.hash).toBe(`#/s/${srv}/${general}`)
  })

  it('@everyone and @here are pills; an e-mail address is not', () => {
    const { root } = body('@everyone look, @here too; mail x@everyone.com')
    expect(screen.getAllByTestId('mention').map((p) => p.dataset.kind)).toEqual(['everyone', 'here'])
    expect(root.textContent).toContain('x@everyone.com')
  })

  it('mentions in code stay as typed', () => {
    const { root } = body('`<@' + alice + '> @everyone`')
    expect(root.querySelector('.mention')).toBeNull()
    expect(root.querySelector('code')?.textContent).toBe('<@' + alice + '> @everyone')
  })
})

describe('previews (inline)', () => {
  it('are one line of text: mentions named, no blocks or links, spoilers kept hidden', () => {
    const { root } = body(`**hey** <@${alice}>\n> quote [x](https://example.com) ||secret||`, true)
    expect(root.tagName).toBe('SPAN')
    expect(root.querySelector('p, blockquote, a, br, div')).toBeNull()
    expect(root.querySelector('strong')?.textContent).toBe('hey')
    expect(screen.getByTestId('mention').textContent).toBe('@Alice Liddell')
    const spoiler = screen.getByTestId('spoiler')
    fireEvent.click(spoiler)
    expect(screen.getByTestId('spoiler').className).not.toContain('revealed')
  })
})

describe('XSS payloads render inert, as typed', () => {
  it.each([
    '<img src=x onerror=alert(1)>',
    '<script>alert(1)</script>',
    '<svg onload=alert(1)>',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<a href="javascript:alert(1)">click</a>',
    '[x](javascript:alert(1))',
    '[x](JaVaScRiPt:alert(1))',
    '[x](  javascript:alert(1))',
    '[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
    '![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)',
    '![x](javascript:alert(1))',
    '<javascript:alert(1)>',
    '[x](vbscript:msgbox(1))',
    '[x](/relative/path)',
  ])('%s', (payload) => {
    const { root } = body(payload)
    expect(root.textContent).toBe(payload)
    expect(root.querySelector('img, script, svg, iframe, a, [onerror], [onload]')).toBeNull()
  })

  it('HTML inside code and inside link text stays text', () => {
    const code = '`<a href="javascript:alert(1)">x</a>`'
    let { root } = body(code)
    expect(root.querySelector('code')?.textContent).toBe('<a href="javascript:alert(1)">x</a>')
    expect(root.querySelectorAll('a')).toHaveLength(0)
    cleanup()
    ;({ root } = body('[<img src=x onerror=alert(1)>](https://example.com)'))
    const a = root.querySelector('a')!
    expect(a.getAttribute('href')).toBe('https://example.com')
    expect(a.textContent).toBe('<img src=x onerror=alert(1)>')
    expect(root.querySelector('img')).toBeNull()
  })

  it('a fenced block of HTML stays text', () => {
    const { root } = body('```html\n<img src=x onerror=alert(1)>\n```')
    expect(root.querySelector('img')).toBeNull()
    expect(root.querySelector('code')?.textContent).toBe('<img src=x onerror=alert(1)>\n')
  })
})

describe('plain text skips the parser and renders the same', () => {
  it.each(['hello bob', 'sent while bob was offline', 'ça va? 100% (sure), 3.5 / 4 = ok!', 'thanks!', 'load 5 — a longer line, 2-3 + 1'])('%s', (text) => {
    expect(isPlain(text)).toBe(true)
    const { root } = body(text)
    expect(root.outerHTML).toBe(`<div class="md"><p>${text.replace(/&/g, '&amp;')}</p></div>`)
  })

  it.each(['**x**', 'a_b_c', '1. one', '1) one', '    code', 'www.example.com', 'https://x.y', 'a\nb', '<b>', '@here', '# h', '- x', '+ x', '-- x', '---', '> q', '~~x~~', '||s||', '`c`', '[x](y)', 'a\\b', 'a &amp; b'])(
    '%s goes through Markdown',
    (text) => expect(isPlain(text)).toBe(false),
  )
})
