"""Probe: is a strided ConvTranspose faster in ONNX Runtime (CPU) as a Conv? Two exact forms of
the DCGAN generator's stride-2 ConvTransposes, timed interleaved against the original:

- one: one Conv with ceil(K/s)^2 taps and s*s*Cout channels (one per output phase, pads T-1),
  DepthToSpace, then a Slice dropping the pad rows;
- phases: one Conv per output phase (asymmetric pads, no wasted taps), Concat, DepthToSpace.

The activation after each ConvTranspose moves before the interleave (elementwise), so it fuses
into the Conv. Run: python3 bench/probe/convtranspose-forms.py [model.onnx]
(default the bundled DCGAN); prints max abs diff and ms per sample (min / median of 20).
"""

from __future__ import annotations

import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

ort.set_default_logger_severity(3)


class Emitter:
    """Emits one phase Conv (and the hoisted activation) of one ConvTranspose."""

    def __init__(self, g, out, x, act, name, t):
        self.g, self.out, self.x, self.act, self.name, self.t = g, out, x, act, name, t

    def __call__(self, weights, bias, pads, tag):
        wn, bn, on = f"{self.name}_w{tag}", f"{self.name}_b{tag}", f"{self.name}_o{tag}"
        self.g.initializer.extend(
            [numpy_helper.from_array(weights, wn), numpy_helper.from_array(bias, bn)]
        )
        self.out.append(
            helper.make_node(
                "Conv", [self.x, wn, bn], [on], pads=pads, kernel_shape=[self.t, self.t]
            )
        )
        if self.act is None:
            return on
        self.out.append(helper.make_node(self.act.op_type, [on], [on + "a"]))
        return on + "a"


def rewrite(model: onnx.ModelProto, form: str) -> onnx.ModelProto:
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    inits = {t.name: t for t in g.initializer}
    consumers: dict[str, list] = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    out, moved = [], set()
    for n in g.node:
        if id(n) in moved:
            continue
        a = {x.name: helper.get_attribute_value(x) for x in n.attribute}
        if n.op_type != "ConvTranspose" or a.get("strides", [1])[0] < 2:
            out.append(n)
            continue
        s, k, p = a["strides"][0], a["kernel_shape"][0], a["pads"][0]
        w = numpy_helper.to_array(inits[n.input[1]])
        b = numpy_helper.to_array(inits[n.input[2]])
        cin, cout = w.shape[:2]
        t = -(-k // s)
        y = n.output[0]
        c = consumers.get(y, [])
        act = c[0] if len(c) == 1 and c[0].op_type in ("Relu", "Sigmoid") else None
        if act is not None:
            moved.add(id(act))
            y = act.output[0]
        name = n.name or n.output[0]

        conv = Emitter(g, out, n.input[0], act, name, t)
        if form == "one":
            w2 = np.zeros((s, s, cout, cin, t, t), np.float32)
            for rh in range(s):
                for rw in range(s):
                    for jh in range(t):
                        for jw in range(t):
                            kh, kw = s * (t - 1 - jh) + rh, s * (t - 1 - jw) + rw
                            if kh < k and kw < k:
                                w2[rh, rw, :, :, jh, jw] = w[:, :, kh, kw].T
            z = conv(
                w2.reshape(s * s * cout, cin, t, t), np.tile(b, s * s), [t - 1] * 4, ""
            )
            out.append(
                helper.make_node(
                    "DepthToSpace", [z], [name + "_u"], blocksize=s, mode="DCR"
                )
            )
            cut = s * t - k + p
            for nm, v in (
                ("_st", [p, p]),
                ("_en", [-cut, -cut] if cut else [2**62] * 2),
                ("_ax", [2, 3]),
            ):
                g.initializer.append(
                    numpy_helper.from_array(np.array(v, np.int64), name + nm)
                )
            out.append(
                helper.make_node(
                    "Slice",
                    [name + "_u", name + "_st", name + "_en", name + "_ax"],
                    [y],
                )
            )
        else:
            phases = []
            extra = (k - 2 * p - s) // s
            for rh in range(s):
                for rw in range(s):
                    (ch, dh), (cw, dw) = divmod(rh + p, s), divmod(rw + p, s)
                    w2 = np.zeros((cout, cin, t, t), np.float32)
                    for jh in range(t):
                        for jw in range(t):
                            kh, kw = s * (t - 1 - jh) + dh, s * (t - 1 - jw) + dw
                            if kh < k and kw < k:
                                w2[:, :, jh, jw] = w[:, :, kh, kw].T
                    pbh, pbw = t - 1 - ch, t - 1 - cw
                    phases.append(
                        conv(
                            w2,
                            b.copy(),
                            [pbh, pbw, extra + t - 1 - pbh, extra + t - 1 - pbw],
                            f"{rh}{rw}",
                        )
                    )
            out.append(helper.make_node("Concat", phases, [name + "_cat"], axis=1))
            out.append(
                helper.make_node(
                    "DepthToSpace", [name + "_cat"], [y], blocksize=s, mode="DCR"
                )
            )
    del g.node[:]
    g.node.extend(out)
    return m


def session(model: onnx.ModelProto, threads: int) -> ort.InferenceSession:
    o = ort.SessionOptions()
    o.intra_op_num_threads = threads
    o.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(
        model.SerializeToString(), o, providers=["CPUExecutionProvider"]
    )


def main() -> None:
    path = (
        sys.argv[1]
        if len(sys.argv) > 1
        else "resources/models/dcgan-celeba-utk-64.onnx"
    )
    base = onnx.load(path)
    forms = {
        "ConvTranspose": base,
        "one Conv + DepthToSpace + Slice": rewrite(base, "one"),
        "phase Convs + Concat + DepthToSpace": rewrite(base, "phases"),
    }
    name = base.graph.input[0].name
    dim = base.graph.input[0].type.tensor_type.shape.dim[1].dim_value
    for threads in (1, 2):
        for batch in (16, 64):
            x = (
                np.random.default_rng(0)
                .standard_normal((batch, dim))
                .astype(np.float32)
            )
            sessions = {f: session(m, threads) for f, m in forms.items()}
            ref = sessions["ConvTranspose"].run(None, {name: x})[0]
            times: dict[str, list[float]] = {f: [] for f in forms}
            for _ in range(20):
                for f, s in sessions.items():
                    t0 = time.perf_counter()
                    y = s.run(None, {name: x})[0]
                    times[f].append((time.perf_counter() - t0) * 1000 / batch)
            for f in forms:
                diff = float(np.abs(sessions[f].run(None, {name: x})[0] - ref).max())
                print(
                    f"{threads} thread(s), batch {batch}: {f}: {min(times[f]):.2f} / {np.median(times[f]):.2f} ms per sample, max abs diff {diff:.1e}"
                )
            del y


if __name__ == "__main__":
    main()
