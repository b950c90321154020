// ONNX Runtime's telemetry looks up mobile.events.data.microsoft.com and keeps a device id and
// queued events under ~/.cache/Microsoft: a forensic workstation must never phone home. The
// runtime reads this variable from the process environment when it starts, so it is set in the
// main thread (a worker's process.env is a private copy native code never sees) before the
// inference worker starts and before onnxruntime-node loads. Imported first wherever ORT is reached.
process.env.ORT_DISABLE_TELEMETRY = '1'
