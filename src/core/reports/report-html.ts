import type { AuditEntry, AuditVerification, CaseInfo, EncoderScore, ImageRecord, PlotImage, RunRecord, TemplateRecord } from '../../shared/types'
import type { EvaluationRecord, ProportionRecord } from '../../shared/evaluation-types'
import type { StoredReconstruction } from '../../shared/reconstruction-record'
import type { ModelRef } from '../cases/case-records'

// The one HTML template of the case report; Chromium prints it (Electron's printToPDF in the app).

export interface ReportRun {
  run: RunRecord
  record: StoredReconstruction | null
  reconstructionPng: Uint8Array | null
  groundTruthPng: Uint8Array | null
  /** What was reconstructed: the template label, or the evaluation photo. */
  target: string
  /** Its optimisation trace, when the method searched (runs outside evaluations only). */
  plots: PlotImage[]
}

export interface ReportEvaluation {
  record: EvaluationRecord
  description: string
  plots: PlotImage[]
  runs: ReportRun[]
}

export interface ReportModel {
  info: CaseInfo
  generatedAt: string
  softwareVersion: string
  examiner: string | null
  audit: AuditVerification
  auditExcerpt: AuditEntry[]
  auditTotal: number
  images: ImageRecord[]
  templates: TemplateRecord[]
  models: ModelRef[]
  runs: ReportRun[]
  inProgress: RunRecord[]
  evaluations: ReportEvaluation[]
  /** Problems the reader must see (clearly marked). */
  warnings: string[]
}

const esc = (s: unknown): string =>
  String(s ?? '—')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')

const png = (bytes: Uint8Array | null, alt: string, size = 112): string =>
  bytes
    ? `<img alt="${esc(alt)}" width="${size}" height="${size}" src="data:image/png;base64,${Buffer.from(bytes).toString('base64')}">`
    : `<div class="noimg" style="width:${size}px;height:${size}px">no image</div>`

const pct = (x: number | null | undefined): string => (x === null || x === undefined ? '—' : `${(x * 100).toFixed(1)}%`)
const num = (x: number | null | undefined, d = 3): string => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(d))

function prop(p: ProportionRecord | undefined): string {
  if (!p) return '—'
  if (p.rate === null || !p.interval) return `0/0`
  const boot = p.bootstrap ? `<br><span class="small">bootstrap ${pct(p.bootstrap.low)}–${pct(p.bootstrap.high)}</span>` : ''
  return `<b>${pct(p.rate)}</b> <span class="small">${p.successes}/${p.trials}, ${p.subjects} subj.</span><br><span class="small">${pct(p.interval.low)}–${pct(p.interval.high)} ${p.interval.method}</span>${boot}`
}

function params(p: Record<string, unknown>): string {
  const entries = Object.entries(p)
  return entries.length
    ? entries.map(([k, v]) => `<span class="kv">${esc(k)} = ${esc(typeof v === 'object' ? JSON.stringify(v) : v)}</span>`).join(' ')
    : '(none)'
}

function decisions(s: EncoderScore, value: number | null, pass: boolean[] | null): string {
  if (value === null) return '—'
  const marks =
    pass && s.thresholds
      ? s.thresholds.fars.map((f, i) => `<span class="${pass[i] ? 'pass' : 'fail'}">${pass[i] ? 'PASS' : 'fail'}@${f.far}</span>`).join(' ')
      : '<span class="small">no thresholds</span>'
  return `${num(value)} ${marks}`
}

function scoreTable(scores: EncoderScore[]): string {
  if (scores.length === 0) return '<p class="small">No scores stored.</p>'
  const rows = scores
    .map(
      (s) => `<tr><td>${esc(s.encoderId)}<br><span class="mono small">${esc(s.encoderSha256)}</span></td>
<td>${decisions(s, s.target, s.pass.target)}</td><td>${decisions(s, s.typeI, s.pass.typeI)}</td>
<td>${s.typeII.length ? s.typeII.map((x, i) => decisions(s, x, s.pass.typeII[i] ?? null)).join('<br>') : '—'}</td>
<td class="small">${s.thresholds ? `${esc(s.thresholds.dataset)}; ${esc(s.thresholds.impostorPairs)} impostor pairs; ${s.thresholds.fars.map((f) => `${f.far}: ${f.threshold.toFixed(4)}`).join(', ')}` : 'none'}</td></tr>`
    )
    .join('')
  return `<table class="scores"><tr><th>encoder</th><th>vs target template</th><th>type I (truth photo)</th><th>type II (other photos)</th><th>thresholds (source, size)</th></tr>${rows}</table>`
}

const plotFigures = (plots: PlotImage[]): string =>
  plots.length ? `<div class="plots">${plots.map((p) => `<figure class="plot">${p.svg}<figcaption>${esc(p.title)}</figcaption></figure>`).join('')}</div>` : ''

function runSection(r: ReportRun, n: number): string {
  const rec = r.record
  const run = r.run
  const models = Object.entries(run.modelSha256s).concat(Object.entries(rec?.modelSha256s ?? {}).filter(([k]) => !(k in run.modelSha256s)))
  return `<section class="run">
<h3>Run ${n}: ${esc(run.method)} — ${esc(r.target)}</h3>
<table class="kvtable">
<tr><th>run id</th><td class="mono">${esc(run.id)}</td></tr>
<tr><th>status</th><td>${esc(run.status)}${run.error ? ` — ${esc(run.error)}` : ''}</td></tr>
<tr><th>method</th><td>${esc(run.method)}</td></tr>
<tr><th>parameters</th><td>${params(run.parameters)}</td></tr>
<tr><th>seed</th><td>seed = ${esc(run.seed)}</td></tr>
<tr><th>timings</th><td>created ${esc(run.createdAt)}; started ${esc(run.startedAt)}; finished ${esc(run.finishedAt)}; ${num(run.seconds, 1)} s${rec ? `; search ${num(rec.seconds, 1)} s; ${esc(rec.queries)} queries; provider ${esc(rec.executionProvider)}` : ''}</td></tr>
<tr><th>software</th><td>${esc(run.softwareVersion)}</td></tr>
<tr><th>models</th><td>${models.map(([k, v]) => `<div><span class="small">${esc(k)}</span> <span class="mono">${esc(v)}</span></div>`).join('')}</td></tr>
${rec?.templateVectorSha256 ? `<tr><th>target vector</th><td class="mono">${esc(rec.templateVectorSha256)}</td></tr>` : ''}
</table>
<div class="pair"><figure>${png(r.groundTruthPng, `ground truth ${r.target}`)}<figcaption>ground truth (aligned)</figcaption></figure>
<figure>${png(r.reconstructionPng, `reconstruction run ${run.id}`)}<figcaption>reconstruction${rec?.imageSha256 ? `<br><span class="mono tiny">${esc(rec.imageSha256)}</span>` : ''}</figcaption></figure></div>
${rec ? scoreTable(rec.scores) : '<p class="warn">This run stored no reconstruction.</p>'}
${plotFigures(r.plots)}
</section>`
}

function evaluationSection(e: ReportEvaluation, index: number): string {
  const r = e.record
  const spec = r.spec
  const head = `<h2>Evaluation ${index + 1}</h2>
<table class="kvtable">
<tr><th>evaluation id</th><td class="mono">${esc(r.id)}</td></tr>
<tr><th>status</th><td>${r.status === 'succeeded' ? 'complete' : `<span class="warn">${esc(r.status.toUpperCase())} — NOT COMPLETE</span>`}${r.error ? ` — ${esc(r.error)}` : ''}</td></tr>
<tr><th>dataset</th><td>${spec.dataset.kind === 'aligned' ? `aligned folder ${esc(spec.dataset.dir)} (manifest sha256 <span class="mono">${esc(spec.dataset.manifestSha256)}</span>)` : "the case's templates with subjects"}</td></tr>
<tr><th>protocol</th><td>${esc(e.description)}${spec.protocol.sha256 ? ` (sha256 <span class="mono">${esc(spec.protocol.sha256)}</span>)` : ''}</td></tr>
<tr><th>seen encoder</th><td>${esc(spec.seenEncoderId)}</td></tr>
<tr><th>methods</th><td>${spec.methods.map((m) => `<div><b>${esc(m.id)}</b>: ${params(m.parameters)}</div>`).join('')}</td></tr>
<tr><th>score encoders</th><td>${spec.encoderIds.map(esc).join(', ')}</td></tr>
<tr><th>seed, limit</th><td>seed = ${spec.seed}; limit = ${esc(spec.limit ?? 'none')}; mates per subject = ${spec.matesPerSubject}</td></tr>
</table>`
  const m = r.metrics
  if (!m)
    return `<section>${head}<p class="warn">METRICS NOT AVAILABLE: the evaluation is ${esc(r.status)} with ${e.runs.length} reconstructions stored. Run the same unveil eval command again to finish it.</p></section>`
  const fars = [...new Set(m.transfer.flatMap((c) => c.typeI.map((x) => x.far)))]
  const transferRows = m.transfer
    .map((c) => {
      const enc = m.encoders.find((x) => x.encoderId === c.encoderId)
      const t = enc?.thresholds
      return `<tr><td>${esc(c.method)}</td><td>${esc(c.encoderId)} <span class="role ${c.role}">${c.role}</span></td>
${fars.map((f) => `<td>${prop(c.typeI.find((x) => x.far === f)?.rate)}</td>`).join('')}
${fars.map((f) => `<td>${prop(c.typeII.find((x) => x.far === f)?.rate)}</td>`).join('')}
<td class="small">${t ? `${esc(t.dataset)}; ${esc(t.impostorPairs)} impostor pairs` : 'none'}</td></tr>`
    })
    .join('')
  const transfer = `<h3>Transfer matrix: success attack rate (95% intervals)</h3>
<table class="metrics"><tr><th rowspan="2">method</th><th rowspan="2">encoder</th><th colspan="${fars.length}">type I (vs the photo the template came from)</th><th colspan="${fars.length}">type II (vs other photos of the subject)</th><th rowspan="2">thresholds: source, size</th></tr>
<tr>${fars.map((f) => `<th>FAR ${f}</th>`).join('')}${fars.map((f) => `<th>FAR ${f}</th>`).join('')}</tr>${transferRows}</table>
<p class="small">${m.attempts} reconstructions of ${m.subjects} subjects. Intervals: Wilson score (rule-of-three upper bound 3/n when there are no successes) and a subject-level bootstrap (${m.bootstrap.reps} resamples, seed ${m.bootstrap.seed}). "seen": the encoder the templates came from; "validation": an encoder a method used to choose its result; "unseen": the other encoders (transfer).</p>`
  const verification = m.encoders
    .map((enc) => {
      const rows = [{ label: 'real photos', v: enc.real }, ...enc.attack.map((a) => ({ label: `${a.method} replaces one photo`, v: a }))]
      return `<h3>Verification — ${esc(enc.encoderId)} <span class="role ${enc.role}">${enc.role}</span></h3>
<table class="metrics"><tr><th></th><th>genuine / impostor pairs</th><th>accuracy (LFW 10-fold)</th>${(enc.thresholds?.fars ?? []).map((f) => `<th>TAR @ FAR ${f.far}</th>`).join('')}</tr>
${rows.map((x) => `<tr><td>${esc(x.label)}</td><td>${x.v.genuinePairs} / ${x.v.impostorPairs}</td><td>${pct(x.v.accuracy)}</td>${x.v.tar.map((t) => `<td>${prop(t.rate)}</td>`).join('')}</tr>`).join('')}</table>
<p class="small">Thresholds: ${enc.thresholds ? `${esc(enc.thresholds.dataset)}, ${esc(enc.thresholds.impostorPairs)} impostor pairs` : 'none'}. Impostor pairs of the verification: the pair list's different-person pairs among the aligned photos, topped up with cross-subject pairs of the evaluation's photos.</p>
<table class="metrics"><tr><th>identification</th><th>gallery</th><th>top-1</th><th>top-5</th></tr>
${enc.identification.map((i) => `<tr><td>${esc(i.method)}</td><td>${i.galleryWithOriginal ? 'with' : 'without'} the original photo, ${i.gallerySubjects} subjects</td><td>${prop(i.top1)}</td><td>${prop(i.top5)}</td></tr>`).join('')}</table>`
    })
    .join('')
  const quality = `<h3>Image quality against the aligned original (mean, subject bootstrap 95%)</h3>
<p class="small">The face-quality column is a PROXY (whether the bundled face detector finds a face in the reconstruction), not a measure of face quality.</p>
<table class="metrics"><tr><th>method</th><th>n</th><th>PSNR (dB)</th><th>SSIM</th><th>MS-SSIM</th><th>face-quality PROXY (detector finds a face; mean score)</th><th>mean seconds</th><th>mean queries</th></tr>
${m.quality
  .map((q) => {
    const f = (x: typeof q.psnr, d: number): string =>
      `${num(x.mean, d)}${x.bootstrap ? ` <span class="small">[${num(x.bootstrap.low, d)}–${num(x.bootstrap.high, d)}]</span>` : ''}`
    const runs = m.runs.find((x) => x.method === q.method)
    return `<tr><td>${esc(q.method)}</td><td>${q.psnr.n}</td><td>${f(q.psnr, 2)}</td><td>${f(q.ssim, 3)}</td><td>${f(q.msSsim, 3)}</td><td>${q.faceProxy ? `${prop(q.faceProxy.detected)}; mean score ${num(q.faceProxy.meanScore, 2)}` : '—'}</td><td>${num(runs?.meanSeconds, 1)}</td><td>${num(runs?.meanQueries, 0)}</td></tr>`
  })
  .join('')}</table>`
  const plots = `<h3>Plots</h3>${plotFigures(e.plots)}`
  const gallery = `<h3>Reconstructions of this evaluation</h3>
<table class="gallery"><tr><th>subject / photo</th><th>truth</th><th>reconstruction</th><th>run, seed</th><th>type I score per encoder (pass at FAR)</th></tr>
${e.runs
  .map((r) => {
    const rec = r.record
    const s = rec?.scores ?? []
    return `<tr><td>${esc(r.target)}</td><td>${png(r.groundTruthPng, `truth ${r.target}`, 56)}</td><td>${png(r.reconstructionPng, `reconstruction ${r.run.id}`, 56)}</td>
<td class="small">${esc(r.run.method)}<br><span class="mono tiny">${esc(r.run.id)}</span><br>seed = ${esc(r.run.seed)}</td>
<td class="small">${s.map((x) => `${esc(x.encoderId)}: ${decisions(x, x.typeI, x.pass.typeI)}`).join('<br>')}</td></tr>`
  })
  .join('')}</table>`
  return `<section>${head}${transfer}${verification}${quality}${plots}${gallery}</section>`
}

const CSS = `
@page { size: A4; }
body { font-family: 'DejaVu Sans', Helvetica, Arial, sans-serif; font-size: 8.5pt; color: #111; }
h1 { font-size: 17pt; margin: 0 0 6pt; } h2 { font-size: 13pt; margin: 14pt 0 6pt; border-bottom: 1px solid #999; page-break-before: always; }
h3 { font-size: 10pt; margin: 10pt 0 4pt; }
.cover { page-break-after: always; } .cover h1 { font-size: 22pt; margin-top: 40mm; }
.cover table th { text-align: left; padding-right: 12pt; }
.banner { font-size: 15pt; font-weight: bold; color: #fff; background: #b00; padding: 8pt; margin: 12pt 0; text-align: center; }
.ok { color: #060; font-weight: bold; }
.warn { color: #b00; font-weight: bold; }
.mono { font-family: 'DejaVu Sans Mono', monospace; font-size: 6.5pt; white-space: nowrap; }
.tiny { font-size: 5.5pt; } .small { font-size: 7pt; color: #333; }
table { border-collapse: collapse; margin: 4pt 0; } td, th { border: 1px solid #bbb; padding: 2pt 4pt; vertical-align: top; }
th { background: #eee; text-align: left; } table.kvtable th { width: 28mm; }
.kv { display: inline-block; margin-right: 8pt; }
.pass { color: #060; font-weight: bold; } .fail { color: #a00; }
.role { font-size: 6.5pt; padding: 0 3pt; border-radius: 2pt; } .role.seen { background: #fde2b0; } .role.validation { background: #d7e8fb; } .role.unseen { background: #dcefdc; }
.pair { display: flex; gap: 10pt; margin: 6pt 0; } figure { margin: 0; } figcaption { font-size: 7pt; text-align: center; }
.noimg { border: 1px dashed #999; font-size: 7pt; display: flex; align-items: center; justify-content: center; }
section.run { page-break-inside: avoid; border-top: 1px solid #ddd; padding-top: 4pt; }
.plots { display: flex; flex-wrap: wrap; gap: 6pt; } .plot { break-inside: avoid; } .plot svg { max-width: 88mm; height: auto; }
table.gallery tr { page-break-inside: avoid; }
`

/** The report is inert: inline styles, images and SVG only; no script, no request leaves the page. */
export const REPORT_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:"

/** The report as one HTML document (every image and plot inline). */
export function reportHtml(m: ReportModel): string {
  const info = m.info
  const auditLine = m.audit.ok
    ? `<span class="ok">Audit chain verifies</span>: ${m.audit.entries} entries.`
    : `<span class="warn">AUDIT CHAIN DOES NOT VERIFY</span> at entry ${esc(m.audit.firstBrokenSeq)}: ${esc(m.audit.reason)}`
  const cover = `<div class="cover">
<h1>Face template inversion — case report</h1>
${m.audit.ok ? '' : `<div class="banner">AUDIT CHAIN DOES NOT VERIFY</div>`}
<table>
<tr><th>Case</th><td>${esc(info.name)}</td></tr>
<tr><th>Case number</th><td>${esc(info.number)}</td></tr>
<tr><th>Examiner</th><td>${esc(m.examiner)}</td></tr>
<tr><th>Report date</th><td>${esc(m.generatedAt)}</td></tr>
<tr><th>Software</th><td>${esc(m.softwareVersion)}</td></tr>
<tr><th>Case id</th><td class="mono">${esc(info.id)}</td></tr>
<tr><th>Case created</th><td>${esc(info.createdAt)}</td></tr>
<tr><th>Contents</th><td>${m.images.length} evidence images, ${m.templates.length} templates, ${m.runs.length} runs, ${m.evaluations.length} evaluations</td></tr>
<tr><th>Audit</th><td>${auditLine}</td></tr>
</table>
${m.warnings.map((w) => `<p class="warn">${esc(w)}</p>`).join('')}
${info.notes ? `<p>${esc(info.notes)}</p>` : ''}
</div>`
  const evidence = `<h2>Evidence</h2>
<h3>Images (content-addressed store)</h3>
<table><tr><th>#</th><th>sha256</th><th>type</th><th>size</th><th>original name</th><th>added</th></tr>
${m.images.map((i, n) => `<tr><td>${n + 1}</td><td class="mono">${i.sha256}</td><td>${esc(i.mime)}</td><td>${i.width}x${i.height}</td><td class="small">${esc(i.originalName)}</td><td class="small">${esc(i.addedAt)}</td></tr>`).join('')}</table>
<h3>Templates</h3>
<table><tr><th>label</th><th>subject</th><th>encoder</th><th>source file sha256</th><th>photo sha256</th></tr>
${m.templates.map((t) => `<tr><td>${esc(t.label)}<br><span class="mono tiny">${esc(t.id)}</span></td><td>${esc(t.subject)}</td><td>${esc(t.encoderId)}<br><span class="mono tiny">${esc(t.encoderSha256)}</span></td><td class="mono">${esc(t.sourceFileSha256)}</td><td class="mono">${esc(t.imageSha256)}</td></tr>`).join('') || '<tr><td colspan="5">none</td></tr>'}</table>
<h3>Models referenced by the case</h3>
<table><tr><th>id</th><th>role</th><th>sha256</th></tr>${m.models.map((x) => `<tr><td>${esc(x.id)}</td><td>${esc(x.role)}</td><td class="mono">${x.sha256}</td></tr>`).join('') || '<tr><td colspan="3">none</td></tr>'}</table>`
  const inProgress = m.inProgress.length
    ? `<h2>Runs in progress — not reported</h2><p class="warn">RUNS STILL IN PROGRESS when this report was made; their results are not part of it:</p><ul>${m.inProgress.map((r) => `<li class="mono">${esc(r.id)} ${esc(r.method)} (${esc(r.status)})</li>`).join('')}</ul>`
    : ''
  const runs = m.runs.length ? `<h2>Reconstruction runs</h2>${m.runs.map((r, i) => runSection(r, i + 1)).join('')}` : ''
  const evaluations = m.evaluations.map(evaluationSection).join('')
  const audit = `<h2>Audit log</h2><p>${auditLine}</p>
<p class="small">Excerpt: ${m.auditExcerpt.length} of ${m.auditTotal} entries (the first and the latest).</p>
<table><tr><th>seq</th><th>at</th><th>actor</th><th>action</th><th>hash</th></tr>
${m.auditExcerpt.map((e) => `<tr><td>${e.seq}</td><td class="small">${esc(e.at)}</td><td>${esc(e.actor)}</td><td>${esc(e.action)}</td><td class="mono">${esc(e.hash)}</td></tr>`).join('')}</table>
<p class="small">Writing this report appends an audit entry (action report.write) holding the PDF's sha256.</p>`
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}"><title>Case ${esc(info.number ?? info.name)} — report</title><style>${CSS}</style></head>
<body>${cover}${evidence}${inProgress}${runs}${evaluations}${audit}</body></html>`
}
