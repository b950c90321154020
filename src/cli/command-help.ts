// `unveil COMMAND [SUB] --help`: usage, options with their defaults, and an example for every
// command, in one table so the overview and each command's page cannot drift apart.

export interface CommandHelp {
  usage: string
  summary: string
  options: [flag: string, what: string][]
  example: string
}

const JSON_OPTION: [string, string] = ['--json', 'print JSON instead of text']

export const COMMANDS: Record<string, CommandHelp> = {
  'models list': { usage: 'unveil models list [--json]', summary: 'list the registered models (bundled and yours)', options: [JSON_OPTION], example: 'unveil models list' },
  'models register': {
    usage: 'unveil models register --model FILE.onnx --manifest FILE.json [--no-verify] [--json]',
    summary: 'register an ONNX model with its manifest; an encoder is then checked on LFW and its FAR thresholds measured (needs UNVEIL_DATA)',
    options: [
      ['--model FILE', 'the ONNX file (copied into the library)'],
      ['--manifest FILE', 'its manifest (examples in resources/manifests)'],
      ['--no-verify', 'skip the LFW check and the threshold measurement'],
      JSON_OPTION
    ],
    example: 'unveil models register --model ../shared/models/encoders/mobileface-v2.onnx --manifest resources/manifests/mobileface-v2.json'
  },
  'models add-remote': {
    usage: 'unveil models add-remote --manifest FILE.json [--no-verify] [--json]',
    summary:
      'register an encoder served by a KServe v2 / Open Inference Protocol server (Triton, KServe, MLServer): readiness, metadata and a probe are checked, the probe\'s fingerprint stands in for a file sha256; then the same LFW checks as register',
    options: [
      ['--manifest FILE', 'an encoder manifest with a "remote" block: url, model, optional version, binary, timeoutMs (30000), retries (2), maxBatch (64)'],
      ['--no-verify', 'skip the LFW check and the threshold measurement'],
      JSON_OPTION
    ],
    example: 'unveil models add-remote --manifest resources/manifests/remote-kserve-example.json'
  },
  'models unregister': { usage: 'unveil models unregister --model ID', summary: 'remove a model you registered (bundled ones stay)', options: [['--model ID', 'the model id']], example: 'unveil models unregister --model mobileface-v2' },
  'models verify': {
    usage: 'unveil models verify --model ID [--pairs N] [--json]',
    summary: 'LFW verification accuracy of an encoder (10-fold protocol; needs UNVEIL_DATA)',
    options: [['--model ID', 'the encoder'], ['--pairs N', 'a balanced subset of N pairs (default: all 2,200 of pairsDevTrain.txt)'], JSON_OPTION],
    example: 'unveil models verify --model faceplugin-fr-feature --pairs 400'
  },
  'models thresholds': {
    usage: 'unveil models thresholds [--model ID]… [--remeasure] [--out DIR] [--json]',
    summary: 'FAR 1e-2/1e-3/1e-4 thresholds from the impostor pairs of 2,000 LFW images (measures those missing; needs UNVEIL_DATA)',
    options: [
      ['--model ID', 'an encoder (repeatable; default: every encoder)'],
      ['--remeasure', 'measure again even where thresholds exist (shipped or measured)'],
      ['--out DIR', 'also write one JSON per encoder, the form resources/thresholds ships'],
      JSON_OPTION
    ],
    example: 'unveil models thresholds --model mobileface-v2'
  },
  enroll: {
    usage: 'unveil enroll --image FILE [--aligned] [--encoder ID] [--face N] [--case DIR] [--label TEXT] [--subject NAME] --out FILE.json',
    summary: 'compute the template of a face in a photo (and add it to a case)',
    options: [
      ['--image FILE', 'a photo (JPEG, PNG, WebP, …)'],
      ['--aligned', 'the image already is an aligned crop at the encoder’s size (112x112): encode it as it is, without detection (a rotated or shifted crop stays so); file only, no --case'],
      ['--encoder ID', 'the encoder (default: faceplugin-fr-feature)'],
      ['--face N', 'which face, largest first (default: 1)'],
      ['--case DIR', 'also store the photo and template in this case'],
      ['--label TEXT', 'the template label (default: the file name)'],
      ['--subject NAME', 'the person shown (photos of one subject give type II scores)'],
      ['--out FILE', 'the template file to write (JSON, with provenance)']
    ],
    example: 'unveil enroll --image photo.jpg --out template.json'
  },
  'case create': {
    usage: 'unveil case create --dir DIR --name NAME [--number N] [--examiner NAME] [--notes TEXT] [--json]',
    summary: 'create a case folder (SQLite database, image store, audit log) and list it',
    options: [['--dir DIR', 'the new case folder'], ['--name NAME', 'the case name'], ['--number N', 'the case number'], ['--examiner NAME', 'who examines'], ['--notes TEXT', 'free notes'], JSON_OPTION],
    example: 'unveil case create --dir cases/leak-2026 --name "Leak 2026" --number C-17 --examiner "A. Examiner"'
  },
  'case list': { usage: 'unveil case list [--json]', summary: 'the cases in the case list', options: [JSON_OPTION], example: 'unveil case list' },
  'case show': { usage: 'unveil case show --case DIR [--json]', summary: "a case's details, templates and runs, after a quick integrity check (a case that fails it takes no changes)", options: [['--case DIR', 'the case folder'], JSON_OPTION], example: 'unveil case show --case cases/leak-2026' },
  'case import': {
    usage: 'unveil case import --case DIR --file FILE [--encoder ID]',
    summary: 'import every template of a file (JSON, .npy, CSV, raw float32); all are checked before any is stored',
    options: [['--case DIR', 'the case folder'], ['--file FILE', 'the template file'], ['--encoder ID', 'the encoder that made them (default: faceplugin-fr-feature)']],
    example: 'unveil case import --case cases/leak-2026 --file leaked.npy'
  },
  'case export': {
    usage: 'unveil case export --case DIR --template ID [--format json|npy] --out FILE',
    summary: 'write one template of a case to a file',
    options: [['--case DIR', 'the case folder'], ['--template ID', 'the template id (see case show)'], ['--format F', 'json (default, with provenance) or npy'], ['--out FILE', 'the file to write']],
    example: 'unveil case export --case cases/leak-2026 --template 1b2c… --out t.json'
  },
  'case runs': { usage: 'unveil case runs --case DIR [--json]', summary: "a case's runs: id, method, status, seed, similarity", options: [['--case DIR', 'the case folder'], JSON_OPTION], example: 'unveil case runs --case cases/leak-2026' },
  'case compare': {
    usage: 'unveil case compare --case DIR --template-id ID [--runs ID,ID…] --out FILE.png [--json]',
    summary: "the ground truth and every run's reconstruction of a template in one grid, with scores",
    options: [['--case DIR', 'the case folder'], ['--template-id ID', 'the template'], ['--runs IDS', 'only these runs (default: every finished run of the template)'], ['--out FILE', 'the PNG to write'], JSON_OPTION],
    example: 'unveil case compare --case cases/leak-2026 --template-id 1b2c… --out compare.png'
  },
  'audit verify': {
    usage: 'unveil audit verify --case DIR [--expect SEQ:HASH | --expect-file HEAD.json] [--json]',
    summary: "check a case's hash-chained audit log and recompute every hash it records against the rows and files; exit 0 intact, 3 broken (nothing is modified)",
    options: [
      ['--case DIR', 'the case folder'],
      ['--expect SEQ:HASH', "a head kept outside the case (unveil audit head): detects a rollback or a rewritten log"],
      ['--expect-file FILE', 'the same, from the JSON file audit head --out wrote'],
      JSON_OPTION
    ],
    example: 'unveil audit verify --case cases/leak-2026 --expect-file ~/evidence/leak-2026-head.json'
  },
  'audit head': {
    usage: 'unveil audit head --case DIR [--out FILE] [--json]',
    summary: "the last audit entry (sequence, hash, count, time) to keep outside the case, for audit verify --expect",
    options: [['--case DIR', 'the case folder'], ['--out FILE', 'also write it as JSON'], JSON_OPTION],
    example: 'unveil audit head --case cases/leak-2026 --out ~/evidence/leak-2026-head.json'
  },
  'audit log': { usage: 'unveil audit log --case DIR [--format json|csv]', summary: "print a case's audit log", options: [['--case DIR', 'the case folder'], ['--format F', 'json (default) or csv']], example: 'unveil audit log --case cases/leak-2026 --format csv' },
  invert: {
    usage:
      'unveil invert (--template FILE | --case DIR --template-id ID) --method ga|random|dfd|alsuv|dibigan|dabgan [--seed N] [--encoder ID] [--generator ID] [--decoder ID]\n' +
      '              [--population N --generations N --patience N --threads N --budget N] [--truth PHOTO] [--same-person PHOTO]… [--out DIR]\n' +
      '              alsuv: [--validation-encoder ID | --no-validation] [--latents N --steps N --avg-window K --top-k K --flip --gradients exact|zo --queries-per-step Q]\n' +
      '              dibigan|dabgan: [--variations K] [--allow-other-encoder]',
    summary:
      'reconstruct a face from a template and score it under every registered encoder; writes best.png, comparison.png (with a truth photo), trace.csv, result.json and, for alsuv, candidate-N.png of the top-k latents (dibigan/dabgan: of the K variations)',
    options: [
      ['--template FILE', 'a template file; its own encoder (id or sha256) is used when registered'],
      ['--case DIR --template-id ID', "a case's template: the run, its result and audit entries are stored in the case, as the app does"],
      ['--method M', 'ga (genetic latent search), random (best of N prior samples), dfd (one decoder pass), alsuv (gradient latent search, averaging, validation pick), dibigan or dabgan (Vec2Face generators: one pass per noise variation)'],
      ['--seed N', 'the random seed (default: a fresh one, printed and recorded)'],
      ['--encoder ID', "the template file's encoder (default: the one it records, else faceplugin-fr-feature)"],
      ['--generator ID', 'ga/random: the face prior (default: eigenface-celeba-utk-128); dibigan/dabgan: the generator (default: the one trained for the encoder)'],
      ['--variations K', 'dibigan/dabgan: K faces, one pass each with a seeded noise vector; the best by the seen encoder is the result (default 4)'],
      ['--allow-other-encoder', "dibigan/dabgan: run a generator trained on another encoder's templates (transfer; recorded in result.json)"],
      ['--decoder ID', 'dfd: the decoder (default: the one trained for the encoder)'],
      ['--population N', 'ga: population (default 256)'],
      ['--generations N', 'ga: at most N generations (default 1000)'],
      ['--patience N', 'ga: stop after N generations without gain (default 20)'],
      ['--threads N', 'ga: independent searches, best kept (default 3)'],
      ['--budget N', 'ga/random/alsuv zo: at most N template queries'],
      ['--validation-encoder ID', 'alsuv: the encoder that picks among the top-k (default: another registered encoder)'],
      ['--no-validation', 'alsuv: pick by the seen encoder alone'],
      ['--latents N', 'alsuv: latents optimised together (default 100)'],
      ['--steps N', 'alsuv: Adam steps (default 100; lr 0.1, x0.1 after step 50)'],
      ['--avg-window K', 'alsuv: average the post-step latents of the last K steps (default 70)'],
      ['--top-k K', 'alsuv: candidates the validation encoder chooses from (default 10)'],
      ['--flip', 'alsuv: average the embedding over a horizontal flip'],
      ['--gradients G', 'alsuv: exact (white-box gradient graph) or zo (black-box estimate from queries)'],
      ['--queries-per-step Q', 'alsuv zo: antithetic queries per step'],
      ['--truth PHOTO', 'the enrolled photo: type I scores and comparison.png'],
      ['--same-person PHOTO', 'another photo of the person: type II scores (repeatable)'],
      ['--out DIR', 'where to write the files (required with --template)']
    ],
    example: 'unveil invert --template template.json --method ga --budget 4000 --truth photo.jpg --out run1'
  },
  'prior build': {
    usage: 'unveil prior build --data DIR[,DIR…] [--components K] [--size S] [--seed N] [--id ID] [--limit N] [--sheet FILE.png] --out DIR',
    summary: 'build an eigenface face prior (randomized PCA) from aligned datasets, with manifest, model card and a contact sheet',
    options: [
      ['--data DIRS', 'aligned dataset folders (unveil dataset align), comma-separated'],
      ['--components K', 'principal components (default 128)'],
      ['--size S', 'crop size the PCA works at (default 64)'],
      ['--seed N', 'seed of the randomized PCA and the samples (default 1)'],
      ['--id ID', 'model id (default eigenface-celeba-utk-K)'],
      ['--limit N', 'at most N crops per dataset'],
      ['--sheet FILE', 'the contact sheet (default docs/images/ID-samples.png)'],
      ['--out DIR', 'where the ONNX, manifest and card go (resources/models to ship it)']
    ],
    example: 'unveil prior build --data aligned/celeba-10k,aligned/utkface --out resources/models'
  },
  'prior inspect': {
    usage: 'unveil prior inspect --generator ID [--samples N] [--seed N] [--sheet FILE.png] [--json]',
    summary: "a generator's seeded samples: the detector's face rate and a contact sheet",
    options: [['--generator ID', 'a registered generator'], ['--samples N', 'samples (default 500)'], ['--seed N', 'seed (default 1)'], ['--sheet FILE', 'also write a contact sheet'], JSON_OPTION],
    example: 'unveil prior inspect --generator dcgan-celeba-utk-64 --sheet sheet.png'
  },
  'gradients check': {
    usage: 'unveil gradients check --model FILE.onnx|ID [--input NAME] [--directions K] [--seed S] [--batch B] [--manifest FILE.json] [--json]',
    summary: "compare an ONNX model's gradient graph with central finite differences along K random directions; exit 0 within tolerance, 1 otherwise (or when an op has no rule, named)",
    options: [
      ['--model FILE|ID', 'an ONNX file (with or without a manifest) or a registered model'],
      ['--input NAME', 'the input to differentiate (default: the first)'],
      ['--directions K', 'random directions (default 4)'],
      ['--seed S', 'seed of the directions and inputs (default 1)'],
      ['--batch B', 'batch the check runs at (default 2)'],
      ['--manifest FILE', "the model's manifest, for realistic input values"],
      JSON_OPTION
    ],
    example: 'unveil gradients check --model faceplugin-fr-feature --directions 8'
  },
  'dataset align': {
    usage: 'unveil dataset align --in DIR --out DIR [--limit N] [--workers N]',
    summary: 'align every photo of a dataset to ArcFace 112x112 crops with a manifest; resumable (Ctrl-C, then run again)',
    options: [['--in DIR', 'the photo folder (folder per person, or flat)'], ['--out DIR', 'where crops and manifest.json go'], ['--limit N', 'only the first N photos'], ['--workers N', 'photos in flight (default 2)']],
    example: 'unveil dataset align --in ../shared/datasets/lfw --out aligned/lfw'
  },
  eval: {
    usage: 'unveil eval --case DIR [--dataset DIR] [--pairs FILE] --seen ENC --methods ga,dfd,… [--encoders ID,…] [--budget N] [--seed S] [--limit N] [--mates N] [--param M.KEY=V]… [--queue redis://HOST:PORT] [--json]',
    summary: 'leak assessment: reconstruct every source photo with each method, score under every encoder; attack rates, verification, identification, image quality with 95% intervals; stored in the case, resumable',
    options: [
      ['--case DIR', 'the case the evaluation and its runs are stored in'],
      ['--dataset DIR', 'an aligned dataset folder (unveil dataset align); default: the case templates with subjects'],
      ['--pairs FILE', 'an LFW pair list (e.g. pairsDevTrain.txt); default: every subject with ≥ 2 photos'],
      ['--seen ENC', 'the encoder the templates come from (the attacked engine)'],
      ['--methods IDS', 'reconstruction methods, comma-separated (any registered method)'],
      ['--encoders IDS', 'encoders to score under (default: every registered encoder; each needs thresholds)'],
      ['--budget N', 'query budget of every method that has one'],
      ['--seed S', 'evaluation seed (default 1); per-photo seeds derive from it'],
      ['--limit N', 'at most N subjects'],
      ['--mates N', 'other photos per subject used as type-II references (default 4)'],
      ['--param M.KEY=V', 'a method parameter, e.g. ga.population=64 (repeatable)'],
      ['--queue URL', 'distribute the reconstructions over `unveil worker` processes on a Redis queue (redis://HOST:PORT); results come back into this case'],
      ['--json', 'print the stored evaluation as JSON']
    ],
    example: 'unveil eval --case cases/lfw-eval --dataset aligned/lfw --pairs ../shared/datasets/lfw/pairsDevTrain.txt --seen faceplugin-fr-feature --methods ga,dfd --budget 2000 --limit 50'
  },
  worker: {
    usage: 'unveil worker --queue redis://HOST:PORT [--concurrency N] [--lock-ms MS]',
    summary: 'run evaluation jobs from a Redis queue (unveil eval --queue) on this machine until Ctrl-C; refuses jobs of another version or with models it does not have (by sha256)',
    options: [
      ['--queue URL', 'the Redis server the evaluations are queued on'],
      ['--concurrency N', 'jobs at a time, each in its own process (default 1); the cores are shared among them'],
      ['--lock-ms MS', 'job lock; a worker that dies loses its jobs to the others after this long (default 30000)']
    ],
    example: 'unveil worker --queue redis://10.0.0.5:6379 --concurrency 2'
  },
  report: {
    usage: 'unveil report --case DIR [--runs ID,…|--evaluation ID] --out FILE.pdf [--svg DIR] [--json]',
    summary: 'PDF case report (Chromium): cover, evidence with sha256, runs with images and scores, evaluation metrics and plots, audit verification, the CASE/UCO graph attached; its sha256 goes into the audit log',
    options: [
      ['--case DIR', 'the case folder'],
      ['--runs IDS', 'only these runs (comma-separated; default: every run and evaluation)'],
      ['--evaluation ID', 'only this evaluation and its runs'],
      ['--out FILE.pdf', 'the PDF (written to a temporary file and renamed when complete; optional with --svg)'],
      ['--svg DIR', 'also write the plots as SVG files, the ones the Evaluate page shows (of the evaluations, or of each run of --runs)'],
      JSON_OPTION
    ],
    example: 'unveil report --case cases/leak-2026 --out leak-2026.pdf'
  },
  'explain aggregation': {
    usage: 'unveil explain aggregation --case DIR (--subject NAME | --person-dir DIR) [--encoder ID] [--holdout N] [--impostors N] [--seed S] [--out SHEET.png] [--json]',
    summary: "one subject's templates averaged over 1, 2, 5, 10, … photos, each decoded (DFD), with TAR@FAR 1e-3 of the averaged gallery template against held-out photos and impostors; stored as a run of the case",
    options: [
      ['--case DIR', 'the case the run is stored in'],
      ['--subject NAME', "the case's templates of this subject (impostors: the other subjects' templates)"],
      ['--person-dir DIR', "a folder of one person's photos, e.g. an LFW person folder (impostors: sibling folders)"],
      ['--encoder ID', 'encoder for photos of a folder (default: faceplugin-fr-feature); it needs a registered decoder'],
      ['--holdout N', 'photos held out as probes (default: a quarter, at least 1)'],
      ['--impostors N', 'impostor photos, one per other person (default: 30 from a folder; every other subject in a case)'],
      ['--seed S', 'which photos are held out and which impostors are drawn (default: 1)'],
      ['--out FILE', 'also write the sheet PNG here'],
      JSON_OPTION
    ],
    example: 'unveil explain aggregation --case cases/demo --person-dir ../shared/datasets/lfw/images/Meryl_Streep --out aggregation.png'
  },
  'explain centroids': {
    usage: 'unveil explain centroids --case DIR [--data DIR] [--k N] [--limit N] [--encoder ID] [--out SHEET.png] [--json]',
    summary: 'agglomerative clustering (average linkage, cosine distance) of templates into k clusters, each centroid decoded (DFD), with cluster sizes and, where identities are known, purity',
    options: [
      ['--case DIR', 'the case the run is stored in (and whose templates are clustered without --data)'],
      ['--data DIR', 'a photo folder instead (LFW-style person folders or identity.txt give identities)'],
      ['--k N', 'number of clusters (default: 4)'],
      ['--limit N', 'photos read from --data at most, in folder order (default: 200)'],
      ['--encoder ID', "the templates' encoder (default: the case's most common, or faceplugin-fr-feature)"],
      ['--seed S', 'recorded with the run (default: 1; the clustering itself is deterministic)'],
      ['--out FILE', 'also write the sheet PNG here'],
      JSON_OPTION
    ],
    example: 'unveil explain centroids --case cases/demo --k 4 --out centroids.png'
  },
  'explain occlusion': {
    usage: 'unveil explain occlusion --case DIR (--template-id ID | --image PHOTO) [--patch PX] [--stride PX] [--encoder ID] [--out SHEET.png] [--json]',
    summary: 'sensitivity map of the template (1 − cosine when a grey square is masked, swept over the aligned face) as a heat-map overlay, and the decoded templates of eye- and mouth-occluded crops with their cosine to the unoccluded template',
    options: [
      ['--case DIR', 'the case the run is stored in'],
      ['--template-id ID', 'a case template enrolled from a photo'],
      ['--image PHOTO', 'or a photo (its largest face is aligned)'],
      ['--patch PX', 'side of the masked square (default: 16)'],
      ['--stride PX', 'step of the sweep (default: 8)'],
      ['--encoder ID', 'encoder for --image (default: faceplugin-fr-feature)'],
      ['--seed S', 'recorded with the run (default: 1)'],
      ['--out FILE', 'also write the sheet PNG here'],
      JSON_OPTION
    ],
    example: 'unveil explain occlusion --case cases/demo --image photo.jpg --out occlusion.png'
  },
  'explain equivariance': {
    usage:
      'unveil explain equivariance (--fit --encoder ID --data DIR [--transform T,…] [--limit N] | --template T.json --transform T --out MAPPED.json | --case DIR (--template-id ID | --image PHOTO) [--transform T,…] [--out SHEET.png] | --list [--encoder ID]) [--seed S] [--json]',
    summary:
      "geometric equivariance (Križaj et al., Table 2): least-squares maps in embedding space from the template of a rotated, shifted or scaled crop to the upright crop's; fitted on an aligned dataset into the library (weights, record, model card), applied to a template file, or shown as a case run (perturbed crops decoded without and with the map)",
    options: [
      ['--fit', 'fit one map per transform on the crops of --data (an aligned dataset folder with manifest.json)'],
      ['--encoder ID', 'the encoder the maps are for (--fit; with --template when the file does not say)'],
      ['--data DIR', 'aligned crops, e.g. from unveil dataset align (a seeded sample of --limit, 20% held out to choose the ridge strength)'],
      ['--limit N', 'crops used at most (default: 2000)'],
      ['--transform T', 'rotate:DEGREES (counter-clockwise), translate:FRACTION (of the width, to the right), scale:FACTOR; comma-separated for --fit and --case (default: rotate ±15, ±30; translate ±0.1, ±0.2; scale 0.5, 0.75, 1.25 — or every fitted map)'],
      ['--template FILE', 'a template file (of a perturbed crop, e.g. from unveil enroll --aligned): writes the mapped template to --out'],
      ['--case DIR', 'the case the run is stored in'],
      ['--template-id ID', 'a case template enrolled from a photo (its aligned crop is perturbed)'],
      ['--image PHOTO', 'or a photo (its largest face is aligned)'],
      ['--list', 'the maps fitted so far'],
      ['--seed S', 'which crops a fit samples; recorded with a run (default: 1)'],
      ['--out FILE', 'the mapped template (--template) or the sheet PNG (--case)'],
      JSON_OPTION
    ],
    example: 'unveil explain equivariance --fit --encoder faceplugin-fr-feature --data aligned/celeba-10k'
  },
  'explain attributes': {
    usage:
      'unveil explain attributes (--fit --encoder ID --data DIR [--limit N] | --case DIR --template-id ID [--attribute age,gender] [--age-steps Y,…] [--gender-steps G,…] [--out SHEET.png]) [--seed S] [--json]',
    summary:
      'attribute directions (in the spirit of Križaj et al., Fig. 17): age and gender directions in embedding space from labelled UTKFace crops, and a case template moved along them in steps, each decoded with its identity similarity to the original template',
    options: [
      ['--fit', 'fit the directions on --data: an aligned UTKFace folder (labels from the file names age_gender_race_date)'],
      ['--encoder ID', 'the encoder the directions are for (--fit)'],
      ['--limit N', 'crops used at most (default: 2000; 20% held out to check the directions)'],
      ['--case DIR', 'the case the run is stored in'],
      ['--template-id ID', 'the case template to move'],
      ['--attribute A', 'age, gender or age,gender (default: both)'],
      ['--age-steps Y,…', 'offsets in years (default: -30,-15,0,15,30)'],
      ['--gender-steps G,…', 'offsets in male→female gaps (default: -1,-0.5,0,0.5,1)'],
      ['--seed S', 'which crops a fit samples; recorded with a run (default: 1)'],
      ['--out FILE', 'also write the sheet PNG here'],
      JSON_OPTION
    ],
    example: 'unveil explain attributes --case cases/demo --template-id 3f2a… --out attributes.png'
  },
  'explain list': { usage: 'unveil explain list --case DIR [--json]', summary: "the case's stored Explain runs, newest first, with their sheets' sha256", options: [['--case DIR', 'the case folder'], JSON_OPTION], example: 'unveil explain list --case cases/demo' },
  'demo start': {
    usage: 'unveil demo start [--json]',
    summary: 'the guided demo for trainers: creates the demo case from the sample photos and enrols them (step 1 of 6), or resumes the tour',
    options: [JSON_OPTION],
    example: 'unveil demo start'
  },
  'demo next': { usage: 'unveil demo next [--json]', summary: 'the next step of the demo, computed at a budget of seconds (DFD, GA, compare, explain, report)', options: [JSON_OPTION], example: 'unveil demo next' },
  'demo back': { usage: 'unveil demo back [--json]', summary: 'the previous step of the demo, as it was computed', options: [JSON_OPTION], example: 'unveil demo back' },
  'demo step': {
    usage: 'unveil demo step N [--json]',
    summary: 'step N (1-6) of the demo; every step before it must be done',
    options: [['N', 'the step number'], JSON_OPTION],
    example: 'unveil demo step 3'
  },
  'demo status': { usage: 'unveil demo status [--json]', summary: 'where the demo stands: the step shown, its explanation and result', options: [JSON_OPTION], example: 'unveil demo status' },
  'demo reset': {
    usage: 'unveil demo reset --yes [--json]',
    summary: 'delete the demo case and the tour state (no other case is touched)',
    options: [['--yes', 'confirm the deletion'], JSON_OPTION],
    example: 'unveil demo reset --yes'
  },
  export: {
    usage: 'unveil export --case DIR --out DIR [--json]',
    summary: 'export bundle: case.json, results JSON + CSV, evaluations JSON + CSV, every image by sha256, a CASE/UCO JSON-LD graph and SHA256SUMS (recorded in the audit log)',
    options: [['--case DIR', 'the case folder'], ['--out DIR', 'a new (or empty) folder; written beside it and renamed when complete'], JSON_OPTION],
    example: 'unveil export --case cases/leak-2026 --out leak-2026-bundle'
  }
}

const ENVIRONMENT = `Environment: UNVEIL_HOME (library folder), UNVEIL_DATA (research data), UNVEIL_PROVIDERS (e.g. cpu),
UNVEIL_THREADS (ONNX Runtime threads; default one per core), UNVEIL_TRIAL_TIMEOUT_MS (time limit of a user model's
trial run; default 60000).`

/** The overview: every command and subcommand with its one-line summary. */
export function overview(version: string): string {
  const rows = Object.entries(COMMANDS).map(([name, h]) => `  unveil ${name.padEnd(18)} ${h.summary}`)
  return `unveil — face template inversion workbench (${version})\n\n${rows.join('\n')}\n\n  unveil COMMAND --help     options, defaults and an example\n\n${ENVIRONMENT}`
}

/** One command's page, or every subcommand's of a command that has subcommands; null if unknown. */
export function commandHelp(command: string, sub?: string): string | null {
  const page = (h: CommandHelp): string =>
    `usage: ${h.usage}\n\n${h.summary}\n\n${h.options.map(([f, w]) => `  ${f.padEnd(28)} ${w}`).join('\n')}\n\nexample: ${h.example}`
  const exact = COMMANDS[sub ? `${command} ${sub}` : command]
  if (exact) return page(exact)
  const subs = Object.entries(COMMANDS).filter(([name]) => name.startsWith(`${command} `))
  return subs.length > 0 ? subs.map(([, h]) => page(h)).join('\n\n') : null
}
