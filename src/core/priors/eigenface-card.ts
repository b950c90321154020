import type { EigenfacePrior } from './eigenface-prior'

/** The model card written beside a built eigenface prior: data, method, licence and the command that rebuilds it. */
export function eigenfaceModelCard(id: string, prior: EigenfacePrior, sha256: string, command: string, seconds: number): string {
  const k = prior.variances.length
  const cumulative = (m: number): string => ((Array.from(prior.variances.slice(0, m)).reduce((a, b) => a + b, 0) / prior.totalVariance) * 100).toFixed(1)
  return `# Model card: ${id}

An eigenface face prior: the mean and top ${k} principal components of aligned face crops
at ${prior.size}x${prior.size} RGB, exported by Unveil's own code as an ONNX generator
(\`z\` of ${k} standard-normal values, scaled by the components' standard deviations, to a
112x112 ArcFace-aligned RGB image in [0, 1]; the upsampling is a bilinear Resize in the graph).

| | |
|---|---|
| file | \`${id}.onnx\` (fp16 weights, cast to fp32 in the graph) |
| sha256 | \`${sha256}\` |
| data | ${prior.datasets.map((d) => `${d.images} aligned crops from \`${d.dir.split('/').slice(-1)[0]}\``).join(', ')}; ${prior.count} in total. LFW is not used (it is for evaluation). |
| variance explained | ${cumulative(Math.min(16, k))}% by 16 components, ${cumulative(Math.min(64, k))}% by 64, ${cumulative(k)}% by all ${k} |
| method | randomized PCA (subspace iteration, ${k}+32 directions, 2 power iterations) |
| licence | **research use only**: CelebA and UTKFace are non-commercial research datasets, and this model inherits their terms |
| rebuild | \`${command}\` (${seconds.toFixed(0)} s on the machine that built it) |

Samples: \`docs/images/${id}-samples.png\`.
`
}
