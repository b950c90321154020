import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createApiHandlers } from '../../../src/main/api-handlers'
import { Workbench } from '../../../src/core/workbench/workbench'
import type { CaseInfo } from '../../../src/shared/types'

describe('Explain IPC handlers', () => {
  let wb: Workbench
  let handlers: ReturnType<typeof createApiHandlers>
  let caseId: string
  const root = mkdtempSync(join(tmpdir(), 'unveil-ipc-explain-'))

  beforeAll(async () => {
    wb = await Workbench.open({ libraryDir: mkdtempSync(join(tmpdir(), 'unveil-lib-')), caseRoot: root })
    handlers = createApiHandlers({ workbench: wb, chooseFolder: async () => null })
    caseId = ((await handlers.createCase({ dir: join(root, 'c'), name: 'Explain IPC' })) as CaseInfo).id
  })
  afterAll(async () => wb.close())

  it('refuses malformed or out-of-bounds input in one line and stores nothing', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'unveil-ipc-explain-outside-'))
    const agg = { caseId, subject: null, personDir: null, encoderId: null, holdout: null, impostors: null, seed: 1 }
    const cen = { caseId, datasetDir: null, encoderId: null, k: 4, limit: null, seed: 1 }
    const occ = { caseId, templateId: null, photo: null, encoderId: null, patch: 16, stride: 8, seed: 1 }
    const eq = { caseId, templateId: null, photo: null, encoderId: null, transforms: null, seed: 1 }
    const attr = { caseId, templateId: '00000000-0000-4000-8000-000000000000', attributes: null, ageSteps: null, genderSteps: null, seed: 1 }
    const bad: [keyof typeof handlers, unknown[], RegExp][] = [
      ['explainAggregation', [null], /aggregation must be an object/],
      ['explainAggregation', [{ ...agg, caseId: '../x' }], /case id must be/],
      ['explainAggregation', [{ ...agg, personDir: outside }], /was not chosen in a folder dialog/],
      ['explainAggregation', [{ ...agg, subject: 'Ann', seed: -1 }], /seed must be between 0/],
      ['explainAggregation', [agg], /give a subject of the case or a person folder/],
      ['explainAggregation', [{ ...agg, subject: 'Ann' }], /^aggregation: the case has no templates of subject 'Ann'$/],
      ['explainCentroids', [{ ...cen, k: 1 }], /k must be between 2 and 64/],
      ['explainCentroids', [{ ...cen, datasetDir: outside }], /was not chosen in a folder dialog/],
      ['explainCentroids', [cen], /^clustering into 4 clusters needs more than 4 templates, found 0 of encoder faceplugin-fr-feature in the case$/],
      ['explainOcclusion', [{ ...occ, patch: 500 }], /patch must be between 2 and 112/],
      ['explainOcclusion', [{ ...occ, photo: { name: 'a.jpg', bytes: 'x' } }], /photo.bytes must be file contents/],
      ['explainOcclusion', [occ], /give a template of the case or a photo/],
      ['explainOcclusion', [{ ...occ, templateId: '00000000-0000-4000-8000-000000000000' }], /no template 00000000-0000-4000-8000-000000000000 in this case/],
      ['explainOcclusion', [{ ...occ, encoderId: 'Bad Id', photo: { name: 'a.jpg', bytes: new Uint8Array(3) } }], /encoder 'Bad Id' must be lower-case/],
      ['listExplainRuns', ['nope'], /case id must be/],
      ['explainEquivariance', [{ ...eq, transforms: 'rotate:30' }], /transforms must be a list of 1 to 20 items/],
      ['explainEquivariance', [{ ...eq, transforms: [7] }], /transforms\[0\] must be/],
      ['explainEquivariance', [eq], /equivariance: give a template of the case or a photo/],
      ['explainEquivariance', [{ ...eq, photo: { name: 'a.jpg', bytes: new Uint8Array(3) }, transforms: ['shear:3'] }], /^unknown transform 'shear:3'/],
      ['explainEquivariance', [{ ...eq, photo: { name: 'a.jpg', bytes: new Uint8Array(3) } }], /^no equivariance maps are fitted for encoder faceplugin-fr-feature; fit them with/],
      ['explainAttributes', [{ ...attr, attributes: ['height'] }], /attributes\[0\] must be age or gender/],
      ['explainAttributes', [{ ...attr, ageSteps: [500] }], /age steps\[0\] must be between -100 and 100/],
      ['explainAttributes', [attr], /no template 00000000-0000-4000-8000-000000000000 in this case/],
      ['explainFits', ['Bad Id'], /must be lower-case/],
      ['explainFits', ['dfd-fr-feature-64'], /'dfd-fr-feature-64' is a decoder, not an encoder/]
    ]
    for (const [method, args, msg] of bad) await expect(handlers[method](...args), method).rejects.toThrow(msg)
    expect(wb.cases.get(caseId).runs).toHaveLength(0)
    expect(await handlers.listExplainRuns(caseId)).toEqual([])
    expect(await handlers.explainFits('faceplugin-fr-feature')).toEqual({ encoderId: 'faceplugin-fr-feature', maps: [], attributes: null })
  })
})
