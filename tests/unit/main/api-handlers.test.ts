import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createApiHandlers } from '../../../src/main/api-handlers'
import { Workbench } from '../../../src/core/workbench/workbench'
import { API_METHODS } from '../../../src/shared/ipc-contract'
import type { CaseInfo } from '../../../src/shared/types'

describe('IPC handlers validate every input before it reaches core', () => {
  let wb: Workbench
  let handlers: ReturnType<typeof createApiHandlers>
  let caseId: string
  const root = mkdtempSync(join(tmpdir(), 'unveil-ipc-'))

  beforeAll(async () => {
    wb = await Workbench.open({ libraryDir: mkdtempSync(join(tmpdir(), 'unveil-lib-')), caseRoot: root })
    handlers = createApiHandlers({ workbench: wb, chooseFolder: async () => null })
    caseId = ((await handlers.createCase({ dir: join(root, 'c'), name: 'IPC case' })) as CaseInfo).id
  })
  afterAll(async () => wb.close())

  it('has one handler per contract method', () => {
    expect(Object.keys(handlers).sort()).toEqual([...API_METHODS].sort())
  })

  it('refuses malformed arguments with messages naming the field', async () => {
    const evaluation = { caseId, datasetDir: null, pairsFile: null, seenEncoderId: 'faceplugin-fr-feature', methods: [{ id: 'dfd', parameters: {} }], encoderIds: [], budget: null, seed: 1, limit: null }
    const bad: [keyof typeof handlers, unknown[], RegExp][] = [
      ['createCase', [{ dir: join(root, 'x'), name: '' }], /case name must not be empty/],
      ['createCase', [null], /case must be an object/],
      ['getCase', ['../../etc'], /case id must be an id/],
      ['detectFaces', [{ name: 'a.jpg', bytes: 'not bytes' }], /photo.bytes must be file contents/],
      ['detectFaces', [{ name: 'a.jpg', bytes: new Uint8Array(0) }], /a.jpg is empty/],
      ['enrolFromPhoto', [caseId, { name: 'a.jpg', bytes: new Uint8Array(3) }, { encoderId: 'x', faceIndex: -1 }], /face index must be between 0/],
      ['importTemplates', [caseId, { name: 't.json', bytes: new Uint8Array([1]) }, 'Not An Id'], /encoder 'Not An Id' must be lower-case/],
      ['exportTemplate', [caseId, '00000000-0000-0000-0000-000000000000', 'xml'], /export format must be json or npy/],
      ['getImage', [caseId, 'abc'], /image sha256 must be 64/],
      ['registerModel', [{ model: { name: 'm.onnx', bytes: new Uint8Array([1, 2]) }, manifestJson: '{oops' }], /manifest is not valid JSON/],
      ['startRun', [{ caseId, method: 'ga', templateId: null, parameters: { a: {} }, seed: 1 }], /parameters.a must be a number or text/],
      ['startRun', [{ caseId, method: 'ga', templateId: null, parameters: {}, seed: -5 }], /seed must be between 0/],
      ['startRun', [{ caseId, method: 'no-such-method', templateId: null, parameters: {}, seed: 1 }], /unknown method 'no-such-method'/],
      ['compareGrid', [caseId, 'nope', null], /template id must be/],
      ['compareGrid', [caseId, '00000000-0000-4000-8000-000000000000', 'x'], /run ids must be a list/],
      ['compareGrid', [caseId, '00000000-0000-4000-8000-000000000000', []], /choose at least one run/],
      ['compareGrid', [caseId, '00000000-0000-4000-8000-000000000000', ['../x']], /run id 1 must be/],
      ['compareGrid', [caseId, '00000000-0000-4000-8000-000000000000', null], /no template 00000000/],
      ['reportPlots', [null], /plots must be an object/],
      ['reportPlots', [{ caseId: 'x', evaluationId: null, runId: null }], /case id must be/],
      ['reportPlots', [{ caseId, evaluationId: null, runId: null }], /give an evaluation id or a run id/],
      ['reportPlots', [{ caseId, evaluationId: '00000000-0000-4000-8000-000000000000', runId: '00000000-0000-4000-8000-000000000001' }], /not both/],
      ['reportPlots', [{ caseId, evaluationId: '<svg>', runId: null }], /evaluation id must be/],
      ['reportPlots', [{ caseId, evaluationId: '00000000-0000-4000-8000-000000000000', runId: null }], /no evaluation 00000000/],
      ['reportPlots', [{ caseId, evaluationId: null, runId: '00000000-0000-4000-8000-000000000000' }], /no run 00000000/],
      ['startEvaluation', [{ ...evaluation, queueUrl: 42 }], /queue URL must be a string/],
      ['startEvaluation', [{ ...evaluation, queueUrl: 'http://10.0.0.5:6379' }], /queue URL must start with redis:\/\/ or rediss:\/\/, got http:\/\//],
      ['startEvaluation', [{ ...evaluation, queueUrl: 'redis://10.0.0.5:6379/db' }], /queue URL path must be a database number/]
    ]
    for (const [method, args, msg] of bad) await expect(handlers[method](...args), method).rejects.toThrow(msg)
    expect(wb.cases.get(caseId).templates).toHaveLength(0)
  })

  it('takes filesystem paths only inside the case root or a folder the dialog answered this session', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'unveil-ipc-outside-'))
    let answer: string | null = null
    const h = createApiHandlers({ workbench: wb, chooseFolder: async () => answer })
    const refused = /was not chosen in a folder dialog in this session/
    const before = wb.cases.list().length
    await expect(h.createCase({ dir: join(outside, 'case'), name: 'Outside' })).rejects.toThrow(refused)
    await expect(h.openCaseFolder(join(root, '..', 'elsewhere'))).rejects.toThrow(refused)
    await expect(h.exportReport({ caseId, dir: outside, runIds: null, evaluationId: null })).rejects.toThrow(refused)
    const evaluation = {
      caseId,
      pairsFile: null,
      seenEncoderId: 'faceplugin-fr-feature',
      methods: [{ id: 'random', parameters: {} }],
      encoderIds: [],
      budget: 1,
      seed: 1,
      limit: 1
    }
    await expect(h.startEvaluation({ ...evaluation, datasetDir: outside })).rejects.toThrow(refused)
    await expect(h.startEvaluation({ ...evaluation, datasetDir: null, pairsFile: join(outside, 'pairs.txt') })).rejects.toThrow(refused)
    await expect(h.openCaseFolder('cases/c')).rejects.toThrow(/case folder cases\/c must be an absolute path/)
    // A cancelled dialog grants nothing; an answered one grants its folder (and only for these handlers).
    expect(await h.chooseFolder('Choose')).toBeNull()
    await expect(h.createCase({ dir: join(outside, 'case'), name: 'Outside' })).rejects.toThrow(refused)
    answer = outside
    expect(await h.chooseFolder('Choose')).toBe(outside)
    const info = (await h.createCase({ dir: join(outside, 'case'), name: 'Chosen' })) as CaseInfo
    expect(info.name).toBe('Chosen')
    await expect(handlers.openCaseFolder(join(outside, 'case'))).rejects.toThrow(refused)
    expect(wb.cases.list().length).toBe(before + 1)
  })

  it('serves the app info and the case list', async () => {
    const info = (await handlers.appInfo()) as { version: string; sampleAvailable: boolean }
    expect(info.version).toMatch(/^unveil@\d/)
    expect(info.sampleAvailable).toBe(true)
    expect(((await handlers.listCases()) as CaseInfo[]).map((c) => c.name)).toContain('IPC case')
  })
})
