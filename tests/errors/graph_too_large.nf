# The graph is bounded, which bounds JIT compile time: checking stops at the
# layer that crosses the limit.
flow m(dim = 2) {
  repeat 2000 {
    coupling affine(mask = alternate) { net = mlp(hidden = [4]) }
# expect: 5:5: error: flow is too large to compile: 50008 graph nodes (limit 50000)
  }
}
