import { describe, expect, it } from 'vitest'
import { runtimeMessage } from '../../../src/core/engine/onnx-session'

// The text ONNX Runtime 1.30 gives for a model stamped with an unreleased opset (found by the fuzz suite).
const OPSET =
  '/onnxruntime_src/onnxruntime/core/graph/model_load_utils.h:46 void onnxruntime::model_load_utils::ValidateOpsetForDomain(const std::unordered_map<std::basic_string<char>, int>&, const onnxruntime::logging::Logger&, bool, const std::string&, int) ONNX Runtime only *guarantees* support for models stamped with official released onnx opset versions. Opset 99 is under development and support for this is limited.'

describe('runtimeMessage', () => {
  it("drops ONNX Runtime's C++ location and signature, keeps the explanation", () => {
    expect(runtimeMessage(new Error(OPSET))).toMatch(/^ONNX Runtime only \*guarantees\* support .* Opset 99 is under development/)
  })
  it('escapes control characters from node names', () => {
    expect(runtimeMessage(new Error('invalid model: node "Identity\u001b[31m" has no input'))).toBe('invalid model: node "Identity\\u001b[31m" has no input')
  })
  it('keeps one line, bounded', () => {
    const m = runtimeMessage(new Error(`${'x'.repeat(1000)}\nsecond line`))
    expect(m).not.toContain('\n')
    expect(m.length).toBeLessThanOrEqual(300)
  })
})
