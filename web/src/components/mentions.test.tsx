import { describe, expect, it } from 'vitest'
import { queryAt } from './MentionAutocomplete'

describe('mention autocomplete', () => {
  it('finds the mention typed before the caret', () => {
    expect(queryAt('hi @al', 6)).toEqual({ trigger: '@', query: 'al', start: 3 })
    expect(queryAt('@', 1)).toEqual({ trigger: '@', query: '', start: 0 })
    expect(queryAt('see #gen', 8)).toEqual({ trigger: '#', query: 'gen', start: 4 })
    expect(queryAt('mail a@b', 8)).toBeNull()
    expect(queryAt('hi @al there', 12)).toBeNull()
    expect(queryAt('<@0123> ok', 10)).toBeNull()
  })
})
