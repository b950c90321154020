import { writeFileSync } from 'node:fs'
import { UsageError, inputFile, inputFileName, integer, parse, required, withWorkbench } from '../cli-support'

export async function enrollCommand(argv: string[]): Promise<void> {
  const v = parse(argv, {
    image: { type: 'string' },
    encoder: { type: 'string' },
    face: { type: 'string' },
    case: { type: 'string' },
    label: { type: 'string' },
    subject: { type: 'string' },
    out: { type: 'string' },
    aligned: { type: 'boolean' }
  })
  const imagePath = required(v, 'image')
  const out = required(v, 'out')
  const faceIndex = (integer(v, 'face', 1) ?? 1) - 1
  if (v.aligned && (v.case || v.face)) throw new UsageError('--aligned encodes the crop as it is into a template file; it takes neither --case nor --face')
  const bytes = inputFile(v, 'image', imagePath)
  await withWorkbench(async (wb) => {
    const encoderId = (v.encoder as string | undefined) ?? wb.models.defaults().encoder
    const name = inputFileName(imagePath)
    const label = (v.label as string | undefined) ?? name
    let file: { json: string; vector: Float32Array; norm: number }
    let faces = ''
    if (v.aligned) {
      file = await wb.templates.enrolAlignedToFile(bytes, name, { encoderId, label })
      faces = ' (aligned crop, no detection)'
    } else if (v.case) {
      const info = wb.cases.openFolder(v.case as string)
      const t = await wb.templates.enrolFromPhoto(info.id, bytes, name, { encoderId, faceIndex, label, subject: v.subject as string | undefined })
      file = wb.templates.templateFile(t.vector, bytes, name, { encoderId, faceIndex, label, id: t.id })
      console.error(`added template ${t.id} and its photo to case '${info.name}'`)
    } else {
      const e = await wb.templates.enrolToFile(bytes, name, { encoderId, faceIndex, label })
      file = e
      faces = ` of ${e.faces}`
    }
    writeFileSync(out, file.json)
    console.log(`template: ${file.vector.length}-d, norm ${file.norm.toFixed(4)}, encoder ${encoderId}, ${v.aligned ? 'crop' : `face ${faceIndex + 1}`}${faces} → ${out}`)
  })
}
