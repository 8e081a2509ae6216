# The graph is bounded, which bounds JIT compile time: checking stops at the
# layer that crosses the limit, or at the flow once the gradient and the
# inverse are added.
flow m(dim = 2) {
# expect: 4:6: error: flow is too large to compile: 133028 graph nodes (limit 100000)
  repeat 2000 {
    coupling affine(mask = alternate) { net = mlp(hidden = [4]) }
  }
}
