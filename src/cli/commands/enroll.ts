import { readFileSync, writeFileSync } from 'node:fs'
import { basename } from 'node:path'
import { decodeImage } from '../../core/imaging/image-io'
import { enrolFace } from '../../core/faces/enrolment'
import { exportTemplatesJson } from '../../core/templates/template-codec'
import { sha256Hex } from '../../core/fs/sha256'
import { integer, parse, required, withWorkbench } from '../cli-support'

export async function enrollCommand(argv: string[]): Promise<void> {
  const v = parse(argv, {
    image: { type: 'string' },
    encoder: { type: 'string' },
    face: { type: 'string' },
    case: { type: 'string' },
    label: { type: 'string' },
    subject: { type: 'string' },
    out: { type: 'string' }
  })
  const imagePath = required(v, 'image')
  const out = required(v, 'out')
  const faceIndex = (integer(v, 'face', 1) ?? 1) - 1
  const bytes = new Uint8Array(readFileSync(imagePath))
  await withWorkbench(async (wb) => {
    const encoderId = (v.encoder as string | undefined) ?? wb.registry.defaults().encoder
    const name = basename(imagePath)
    const label = (v.label as string | undefined) ?? name
    let vector: number[]
    let faces = ''
    let id: string | undefined
    if (v.case) {
      const info = wb.openCaseFolder(v.case as string)
      const t = await wb.enrolFromPhoto(info.id, bytes, name, { encoderId, faceIndex, label, subject: v.subject as string | undefined })
      vector = t.vector
      id = t.id
      console.error(`added template ${t.id} and its photo to case '${info.name}'`)
    } else {
      const e = await enrolFace(wb.engine, await wb.pipeline(encoderId), await decodeImage(bytes, name), faceIndex)
      vector = Array.from(e.vector)
      faces = ` of ${e.faces.length}`
    }
    const encoder = wb.registry.get(encoderId).manifest
    writeFileSync(
      out,
      exportTemplatesJson([
        { id, label, vector, encoderId, encoderSha256: encoder.sha256, provenance: { sourceFileName: name, sourceFileSha256: sha256Hex(bytes), faceIndex } }
      ])
    )
    const norm = Math.sqrt(vector.reduce((a, x) => a + x * x, 0))
    console.log(`template: ${vector.length}-d, norm ${norm.toFixed(4)}, encoder ${encoderId}, face ${faceIndex + 1}${faces} → ${out}`)
  })
}
