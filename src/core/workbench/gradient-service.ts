import { join } from 'node:path'
import { GradientGraphCache } from '../autodiff/gradient-cache'
import { checkModelGradients, engineRunnerFactory, type ModelGradientCheckRequest, type ModelGradientCheckResult } from '../autodiff/model-gradient-check'
import type { InferenceEngine } from '../engine/inference-engine'
import type { ModelRegistry } from '../models/model-registry'

/** Input gradients of ONNX models: derived graphs (cached by model sha256 and rule-set version) and their check. */
export class GradientService {
  private readonly cache: GradientGraphCache

  constructor(
    private readonly engine: InferenceEngine,
    private readonly registry: ModelRegistry,
    libraryDir: string
  ) {
    this.cache = new GradientGraphCache(join(libraryDir, 'gradient-cache'))
  }

  /** Derives a model's gradient graph and checks it against finite differences (unveil gradients check). */
  check(request: ModelGradientCheckRequest): Promise<ModelGradientCheckResult> {
    return checkModelGradients(request, { registry: this.registry, cache: this.cache, runner: engineRunnerFactory(this.engine) })
  }
}
