// @vitest-environment jsdom
import { render } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { suggest } from './SearchBox'
import { SearchResults, Snippet } from './SearchResults'

const values = { users: ['alice', 'bob'], channels: ['general', 'random'], today: '2026-12-02' }

describe('suggest', () => {
  it('offers filter keys for a word being typed', () => {
    expect(suggest('', values)).toContain('from:')
    expect(suggest('hello f', values)).toEqual(['from:'])
    expect(suggest('hello from:', values)).toEqual(['from:alice', 'from:bob'])
  })
  it('offers the values of each filter', () => {
    expect(suggest('in:g', values)).toEqual(['in:general'])
    expect(suggest('has:', values)).toEqual(['has:link', 'has:file', 'has:image'])
    expect(suggest('pinned:t', values)).toEqual(['pinned:true'])
    expect(suggest('before:', values)).toEqual(['before:2026-12-02'])
    expect(suggest('mentions:B', values)).toEqual(['mentions:bob'])
  })
  it('offers nothing inside a phrase or for a complete value', () => {
    expect(suggest('"de f', values)).toEqual([])
    expect(suggest('from:alice', values)).toEqual([])
  })
})

describe('Snippet', () => {
  it('marks the highlighted code points', () => {
    const { container } = render(<Snippet text="La réunion 🎉 de demain" highlights={[{ start: 3, end: 10 }, { start: 16, end: 22 }]} />)
    expect(Array.from(container.querySelectorAll('mark')).map((m) => m.textContent)).toEqual(['réunion', 'demain'])
    expect(container.textContent).toBe('La réunion 🎉 de demain')
  })
})

describe('SearchResults', () => {
  const props = { query: 'deploy', results: [], busy: false, error: '', hasMore: true, onMore: () => {}, onClose: () => {} }
  it('says about when the total is an estimate', () => {
    const { container } = render(<SearchResults {...props} total={120} estimate />)
    expect(container.querySelector('[role=status]')?.textContent).toBe('About 120 results for “deploy”')
  })
  it('gives an exact total as it is', () => {
    const { container } = render(<SearchResults {...props} total={1} />)
    expect(container.querySelector('[role=status]')?.textContent).toBe('1 result for “deploy”')
  })
})
