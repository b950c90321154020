import { describe, expect, it } from 'vitest'
import { msSsim, psnr, ssim } from '../../../src/core/evaluation/image-quality'

const flat = (v: number, w = 32, h = 32): { data: Uint8Array; width: number; height: number } => ({ data: new Uint8Array(w * h * 3).fill(v), width: w, height: h })

describe('image quality', () => {
  it('PSNR: hand-computed for a constant difference', () => {
    // Every value off by 10: MSE 100, PSNR = 10·log10(255²/100) = 28.1308 dB
    expect(psnr(flat(100), flat(110))).toBeCloseTo(28.1308, 4)
    expect(psnr(flat(7), flat(7))).toBe(Infinity)
  })

  it('SSIM: 1 for identical images; the luminance term alone for two flat images', () => {
    const noise = { data: Uint8Array.from({ length: 48 * 48 * 3 }, (_, i) => (i * 7919) % 256), width: 48, height: 48 }
    expect(ssim(noise, noise)).toBeCloseTo(1, 10)
    // Flat images have no variance: SSIM = (2ab + C1)/(a² + b² + C1), C1 = (0.01·255)² = 6.5025
    const a = 100
    const b = 150
    const expected = (2 * a * b + 6.5025) / (a * a + b * b + 6.5025)
    expect(ssim(flat(a), flat(b))).toBeCloseTo(expected, 6)
    expect(expected).toBeCloseTo(0.92312, 4)
  })

  it('MS-SSIM: 1 for identical images, lower for a changed one', () => {
    const img = { data: Uint8Array.from({ length: 112 * 112 * 3 }, (_, i) => (Math.floor(i / 3) % 112) * 2), width: 112, height: 112 }
    expect(msSsim(img, img)).toBeCloseTo(1, 10)
    const other = { ...img, data: img.data.map((v, i) => (i % 5 === 0 ? 255 - v : v)) }
    expect(msSsim(img, other)).toBeLessThan(0.95)
  })
})
