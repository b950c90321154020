/** A model file that cannot be used: not ONNX, no graph, or not self-contained. */
export class OnnxModelError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'OnnxModelError'
  }
}
