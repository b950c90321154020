import { mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { UsageError, integer, parse, printJson, progressBar, required, withWorkbench } from '../cli-support'

const USAGE = `usage: unveil prior build --data DIR[,DIR…] [--components K] [--size S] [--seed N] [--id ID] --out DIR
       unveil prior inspect --generator ID [--samples N] [--seed N] [--sheet FILE.png] [--json]`

/** Samples a registered generator: the detector's face rate and a contact sheet. */
async function inspect(argv: string[]): Promise<void> {
  const v = parse(argv, { generator: { type: 'string' }, samples: { type: 'string' }, seed: { type: 'string' }, sheet: { type: 'string' }, json: { type: 'boolean' } })
  const id = required(v, 'generator')
  const samples = integer(v, 'samples', 500)!
  const seed = integer(v, 'seed', 1)!
  if (samples < 1 || samples > 100_000) throw new UsageError('--samples must be between 1 and 100000')
  await withWorkbench(async (wb) => {
    const t0 = performance.now()
    const r = await wb.priors.inspect(id, { samples, seed, onProgress: progressBar(`detecting faces in ${id} samples`) })
    const seconds = (performance.now() - t0) / 1000
    if (v.sheet) {
      mkdirSync(resolve(v.sheet as string, '..'), { recursive: true })
      writeFileSync(v.sheet as string, await wb.priors.contactSheet(r.samples))
    }
    const { detection: d } = r
    if (v.json) return printJson({ generator: id, sha256: r.generatorSha256, seed, samples, detected: d.detected, rate: d.rate, meanScore: d.meanScore, seconds, sheet: v.sheet ?? null })
    console.log(
      `${id}: the detector finds a face in ${d.detected} of ${d.images} samples (${(d.rate * 100).toFixed(1)}%, mean score ${d.meanScore.toFixed(4)}); seed ${seed}, ${seconds.toFixed(1)} s` +
        (v.sheet ? `; contact sheet → ${v.sheet}` : '')
    )
  })
}

export async function priorCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv
  if (sub === 'inspect') return inspect(rest)
  if (sub !== 'build') throw new UsageError(USAGE)
  const v = parse(rest, { data: { type: 'string' }, components: { type: 'string' }, size: { type: 'string' }, seed: { type: 'string' }, id: { type: 'string' }, out: { type: 'string' }, sheet: { type: 'string' }, limit: { type: 'string' } })
  const datasets = required(v, 'data').split(',').map((d) => resolve(d))
  const components = integer(v, 'components', 128)!
  const seed = integer(v, 'seed', 1)!
  const id = (v.id as string) ?? `eigenface-celeba-utk-${components}`
  const outDir = required(v, 'out')
  const command = `unveil prior build --data ${datasets.map((d) => d.split('/').slice(-2).join('/')).join(',')} --components ${components} --seed ${seed} --out ${outDir}`
  await withWorkbench(async (wb) => {
    const bar = progressBar('eigenface prior')
    const built = await wb.priors.buildEigenface(id, {
      datasets,
      components,
      size: integer(v, 'size', 64),
      seed,
      limitPerDataset: integer(v, 'limit'),
      command,
      onProgress: (phase, done, total) => (phase === 'load' ? bar(done, total) : undefined)
    })
    mkdirSync(outDir, { recursive: true })
    writeFileSync(join(outDir, `${id}.onnx`), built.onnx)
    writeFileSync(join(outDir, `${id}.json`), `${JSON.stringify(built.manifest, null, 2)}\n`)
    writeFileSync(join(outDir, `${id}.md`), built.card)
    const sheet = (v.sheet as string) ?? join('docs', 'images', `${id}-samples.png`)
    mkdirSync(resolve(sheet, '..'), { recursive: true })
    writeFileSync(sheet, built.sheetPng)
    const { prior } = built
    console.log(
      `${id}: ${prior.count} images, ${components} components explain ${(prior.explained * 100).toFixed(1)}% of the variance; ${(built.onnx.length / 1e6).toFixed(1)} MB, sha256 ${built.sha256}; samples → ${sheet}`
    )
  })
}
