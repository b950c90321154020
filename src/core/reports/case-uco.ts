import type { AuditVerification, CaseInfo, ImageRecord, RunRecord, TemplateRecord } from '../../shared/types'
import type { EvaluationRecord } from '../../shared/evaluation-types'
import type { ModelRef, ResultRecord } from '../cases/case-records'

// The case as a CASE/UCO (https://caseontology.org) JSON-LD graph: the case an investigation,
// each run an investigative action with the software and models as instruments (with their
// hashes), its template and photos as objects and its reconstruction and scores as results,
// each result with a provenance record.

const CONTEXT = {
  kb: 'urn:unveil:',
  'case-investigation': 'https://ontology.caseontology.org/case/investigation/',
  'uco-action': 'https://ontology.unifiedcyberontology.org/uco/action/',
  'uco-core': 'https://ontology.unifiedcyberontology.org/uco/core/',
  'uco-identity': 'https://ontology.unifiedcyberontology.org/uco/identity/',
  'uco-observable': 'https://ontology.unifiedcyberontology.org/uco/observable/',
  'uco-tool': 'https://ontology.unifiedcyberontology.org/uco/tool/',
  'uco-types': 'https://ontology.unifiedcyberontology.org/uco/types/',
  'uco-vocabulary': 'https://ontology.unifiedcyberontology.org/uco/vocabulary/',
  xsd: 'http://www.w3.org/2001/XMLSchema#'
}

type Node = Record<string, unknown>

const ref = (id: string): { '@id': string } => ({ '@id': id })
const dt = (iso: string | null): unknown => (iso ? { '@type': 'xsd:dateTime', '@value': iso } : undefined)

function hash(sha256: string): Node {
  return { '@type': 'uco-types:Hash', 'uco-types:hashMethod': { '@type': 'uco-vocabulary:HashNameVocab', '@value': 'SHA256' }, 'uco-types:hashValue': { '@type': 'xsd:hexBinary', '@value': sha256 } }
}

function fileObject(id: string, name: string | null, sha256: string, mime: string | null, extra: Node = {}): Node {
  return {
    '@id': id,
    '@type': 'uco-observable:ObservableObject',
    'uco-core:name': name ?? sha256,
    'uco-core:hasFacet': [
      { '@type': 'uco-observable:ContentDataFacet', 'uco-observable:hash': [hash(sha256)], ...(mime ? { 'uco-observable:mimeType': mime } : {}) },
      ...(name ? [{ '@type': 'uco-observable:FileFacet', 'uco-observable:fileName': name }] : [])
    ],
    ...extra
  }
}

export interface CaseGraphInput {
  info: CaseInfo
  softwareVersion: string
  images: ImageRecord[]
  templates: TemplateRecord[]
  models: ModelRef[]
  runs: RunRecord[]
  results: ResultRecord[]
  evaluations: EvaluationRecord[]
  audit: AuditVerification
  /** Files of the bundle (relative path → sha256), so results point at what was exported. */
  files: Record<string, string>
}

export function caseUcoGraph(c: CaseGraphInput): Node {
  const graph: Node[] = []
  const tool = `kb:tool-unveil-${c.softwareVersion}`
  graph.push({ '@id': tool, '@type': 'uco-tool:Tool', 'uco-core:name': 'Unveil', 'uco-tool:version': c.softwareVersion, 'uco-tool:toolType': 'face template inversion workbench' })
  if (c.info.examiner) graph.push({ '@id': `kb:examiner-${c.info.id}`, '@type': 'uco-identity:Person', 'uco-core:name': c.info.examiner })
  const modelId = (sha: string): string => `kb:model-${sha}`
  const models = new Map<string, ModelRef>(c.models.map((m) => [m.sha256, m]))
  for (const m of models.values()) graph.push(fileObject(modelId(m.sha256), `${m.id} (${m.role})`, m.sha256, 'application/onnx'))
  const seenModels = new Set(models.keys())
  for (const img of c.images) graph.push(fileObject(`kb:image-${img.sha256}`, img.originalName, img.sha256, img.mime))
  for (const t of c.templates) {
    graph.push(
      fileObject(`kb:template-${t.id}`, t.sourceFileName ?? t.label, t.sourceFileSha256, null, {
        'uco-core:description': `face template, ${t.dimension}-d, encoder ${t.encoderId} (${t.encoderSha256})${t.subject ? `, subject ${t.subject}` : ''}`
      })
    )
  }
  const actions: string[] = []
  for (const run of c.runs) {
    const id = `kb:run-${run.id}`
    actions.push(id)
    const results = c.results.filter((r) => r.runId === run.id)
    const resultIds: string[] = []
    for (const r of results) {
      const rid = `kb:result-${r.id}`
      resultIds.push(rid)
      const objects = r.imageSha256 ? [ref(`kb:image-${r.imageSha256}`)] : []
      graph.push({
        '@id': `kb:provenance-${r.id}`,
        '@type': 'case-investigation:ProvenanceRecord',
        'case-investigation:exhibitNumber': `${c.info.number ?? c.info.id}/${r.id}`,
        'uco-core:description': `${r.kind} of run ${run.id}: scores, thresholds and provenance (results.json, ${r.id})`,
        'uco-core:object': [...objects, ref(rid)]
      })
      graph.push({ '@id': rid, '@type': 'uco-observable:ObservableObject', 'uco-core:name': `${r.kind} ${r.id}`, 'uco-core:description': `stored ${r.createdAt}` })
      if (r.imageSha256) resultIds.push(`kb:image-${r.imageSha256}`)
    }
    // The models the run used: the run's own list and the ones its result resolved.
    const used = new Map<string, string>(Object.entries(run.modelSha256s).map(([role, sha]) => [sha, role]))
    for (const r of results) {
      const m = (r.data as { modelSha256s?: Record<string, string> } | null)?.modelSha256s ?? {}
      for (const [role, sha] of Object.entries(m)) if (typeof sha === 'string' && !used.has(sha)) used.set(sha, role)
    }
    for (const [sha, role] of used) {
      if (seenModels.has(sha)) continue
      seenModels.add(sha)
      graph.push(fileObject(modelId(sha), role, sha, 'application/onnx'))
    }
    const instruments = [ref(tool), ...[...used.keys()].map((s) => ref(modelId(s)))]
    graph.push({
      '@id': id,
      '@type': 'case-investigation:InvestigativeAction',
      'uco-core:name': `${run.method} run ${run.id}`,
      'uco-core:description': `method ${run.method}, parameters ${JSON.stringify(run.parameters)}, seed ${run.seed}`,
      'uco-action:actionStatus': run.status,
      'uco-action:startTime': dt(run.startedAt),
      'uco-action:endTime': dt(run.finishedAt),
      'uco-action:instrument': instruments,
      ...(c.info.examiner ? { 'uco-action:performer': ref(`kb:examiner-${c.info.id}`) } : {}),
      'uco-action:object': run.templateId ? [ref(`kb:template-${run.templateId}`)] : [],
      'uco-action:result': resultIds.map(ref)
    })
  }
  for (const e of c.evaluations) {
    const id = `kb:evaluation-${e.id}`
    actions.push(id)
    graph.push({
      '@id': id,
      '@type': 'case-investigation:InvestigativeAction',
      'uco-core:name': `evaluation ${e.id}`,
      'uco-core:description': `leak assessment: seen encoder ${e.spec.seenEncoderId}, methods ${e.spec.methods.map((m) => m.id).join(', ')}, encoders ${e.spec.encoderIds.join(', ')}; metrics in evaluations.json`,
      'uco-action:actionStatus': e.status,
      'uco-action:startTime': dt(e.createdAt),
      'uco-action:endTime': dt(e.updatedAt),
      'uco-action:instrument': [ref(tool)]
    })
  }
  graph.push({
    '@id': `kb:case-${c.info.id}`,
    '@type': 'case-investigation:Investigation',
    'uco-core:name': c.info.name,
    'case-investigation:focus': 'face template inversion',
    'uco-core:description': `case number ${c.info.number ?? '—'}; audit chain ${c.audit.ok ? 'verifies' : `DOES NOT VERIFY (${c.audit.reason})`} (${c.audit.entries} entries)`,
    'uco-core:objectCreatedTime': dt(c.info.createdAt),
    'uco-core:object': actions.map(ref)
  })
  for (const [file, sha] of Object.entries(c.files)) graph.push(fileObject(`kb:bundle-file-${sha}`, file, sha, null))
  return { '@context': CONTEXT, '@graph': graph }
}
