import { describe, expect, it } from 'vitest'
import { errorMessage } from '../../../src/renderer/src/lib/errors'
import { folderNameFor, suggestCaseFolder } from '../../../src/renderer/src/lib/case-folder'
import { largestFaceIndex, thumbCrop } from '../../../src/renderer/src/lib/faces'
import { formatDuration, shortHash } from '../../../src/renderer/src/lib/format'

describe('errorMessage', () => {
  it("strips Electron's IPC wrapping and the error class name", () => {
    const err = new Error("Error invoking remote method 'unveil:importTemplates': Error: template has 128 values, encoder expects 512")
    expect(errorMessage(err)).toBe('template has 128 values, encoder expects 512')
    const named = new Error("Error invoking remote method 'unveil:createCase': ValidationError: name must not be empty")
    expect(errorMessage(named)).toBe('name must not be empty')
  })

  it('keeps other messages exactly', () => {
    expect(errorMessage(new Error('Error: keep me'))).toBe('Error: keep me')
    expect(errorMessage('plain text')).toBe('plain text')
    expect(errorMessage({ message: 'from a structured clone' })).toBe('from a structured clone')
    expect(errorMessage(new Error(''))).toBe('Unknown error')
  })
})

describe('suggestCaseFolder', () => {
  it('joins the root and a file-system-safe case name', () => {
    expect(suggestCaseFolder('/home/a/Unveil cases', 'Op. Falcon')).toBe('/home/a/Unveil cases/Op. Falcon')
    expect(suggestCaseFolder('/home/a/Unveil cases/', 'A/B: c?')).toBe('/home/a/Unveil cases/A_B_ c_')
    expect(suggestCaseFolder('C:\\Users\\a\\Documents\\Unveil cases', 'E2E case')).toBe('C:\\Users\\a\\Documents\\Unveil cases\\E2E case')
  })

  it('drops trailing dots and spaces Windows would refuse', () => {
    expect(folderNameFor('case 12. ')).toBe('case 12')
  })
})

describe('faces', () => {
  const face = (box: [number, number, number, number]) => ({ box, score: 0.9, landmarks: [] })

  it('picks the largest box', () => {
    expect(largestFaceIndex([face([0, 0, 10, 10]), face([0, 0, 30, 20]), face([5, 5, 20, 20])])).toBe(1)
    expect(largestFaceIndex([])).toBe(-1)
  })

  it('centres the face box in the thumbnail', () => {
    const c = thumbCrop([100, 100, 200, 200], 400, 300, 40, 0)
    expect(c.width).toBeCloseTo(160)
    expect(c.left + 150 * (40 / 100)).toBeCloseTo(20)
    expect(c.top + 150 * (40 / 100)).toBeCloseTo(20)
  })
})

describe('format', () => {
  it('formats durations and hashes compactly', () => {
    expect(formatDuration(75)).toBe('1 min 15 s')
    expect(formatDuration(null)).toBe('—')
    expect(shortHash('0123456789abcdef', 8)).toBe('01234567')
  })
})
