// The core renders every plot to SVG from the report's Vega-Lite specs; the renderer shows that
// SVG as an <img> (img-src allows data:), never as markup: an SVG in an image runs no script
// and loads nothing, so the string needs no sanitising and the CSP stays as it is.

/** A data: URL for an SVG document; refuses anything that is not one. */
export function svgDataUrl(svg: string): string {
  if (!/^\s*(<\?xml[^>]*>\s*)?<svg[\s>]/.test(svg)) throw new Error('plot is not an SVG document')
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`
}

/** The width and height an SVG declares, so the image keeps its size (vega writes both). */
export function svgSize(svg: string): { width: number; height: number } | null {
  const head = /<svg[^>]*>/.exec(svg)?.[0] ?? ''
  const w = /\swidth="([\d.]+)"/.exec(head)
  const h = /\sheight="([\d.]+)"/.exec(head)
  return w && h ? { width: Number(w[1]), height: Number(h[1]) } : null
}
